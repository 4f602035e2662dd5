/**
 * The package's client for the `requests` queue (import from `secret-rotator/client`): a typed
 * wrapper over plain BullMQ calls, so a service can ask the worker for a rotation and wait for it.
 * Anything it does can be done with BullMQ alone, in any language (docs/enqueue.md).
 */
import { type ConnectionOptions, Job, type JobsOptions, Queue } from 'bullmq';
import { QUEUE_NAMES } from '../queue/definitions.js';
import {
  DEFAULT_PREFIX,
  describeProblems,
  parseRotationRequest,
  REQUEST_JOB_NAME,
  REQUEST_QUEUE,
  type RotationRequest,
  type RotationRequestResult,
} from '../requests/contract.js';
import { waitForRotations } from '../queue/wait.js';

export {
  DEFAULT_PREFIX,
  parseRotationRequest,
  REQUEST_CONTRACT_VERSION,
  REQUEST_JOB_NAME,
  REQUEST_PRIORITIES,
  REQUEST_QUEUE,
  type RequestedRotation,
  type RequestPriority,
  type RequestProblem,
  type RotationRequest,
  type RotationRequestResult,
} from '../requests/contract.js';

export interface ClientOptions {
  /** The worker's config redis.prefix (default `rotator`). */
  prefix?: string;
}

export interface RequestRotationOptions extends ClientOptions {
  /**
   * Your own id for the request job (BullMQ: not an integer, no ':'). Adding the same id twice
   * adds one job, so a retried call does not ask twice.
   */
  requestId?: string;
  /** How long the request job is kept once finished (default: the worker's jobs.keepCompleted/keepFailed). */
  removeOnComplete?: JobsOptions['removeOnComplete'];
  removeOnFail?: JobsOptions['removeOnFail'];
}

/** The request was not sent: its data does not meet the contract (the message names the fields). */
export class InvalidRotationRequestError extends Error {
  override name = 'InvalidRotationRequestError';
}

/**
 * Adds a `rotate` job to the `requests` queue. The request is checked against the contract first
 * (the worker checks it again, and whether the target exists). Resolves with the request job's id.
 */
export async function requestRotation(
  connection: ConnectionOptions,
  request: RotationRequest,
  options: RequestRotationOptions = {},
): Promise<{ requestId: string }> {
  const parsed = parseRotationRequest(request);
  if (!parsed.ok)
    throw new InvalidRotationRequestError(`invalid rotation request: ${describeProblems(parsed.problems)}`);
  const queue = new Queue<RotationRequest, RotationRequestResult>(REQUEST_QUEUE, {
    connection,
    prefix: options.prefix ?? DEFAULT_PREFIX,
  });
  try {
    const job = await queue.add(REQUEST_JOB_NAME, request, {
      ...(options.requestId !== undefined ? { jobId: options.requestId } : {}),
      ...(options.removeOnComplete !== undefined ? { removeOnComplete: options.removeOnComplete } : {}),
      ...(options.removeOnFail !== undefined ? { removeOnFail: options.removeOnFail } : {}),
    });
    if (!job.id) throw new Error('BullMQ returned a job without an id');
    return { requestId: job.id };
  } finally {
    await queue.close();
  }
}

export interface WaitForRotationOptions extends ClientOptions {
  /** How long to wait for the request and its rotations, in ms (default 1 hour). */
  timeoutMs?: number;
  /** How often job states are read, in ms (default 500). */
  pollMs?: number;
}

/** One rotation a request asked for, and how it ended. */
export interface RotationOutcome {
  targetId: string;
  rotationId: string;
  deduplicated: boolean;
  /** 'pending': still waiting or running when the wait timed out. */
  outcome: 'succeeded' | 'failed' | 'pending';
  /** The secret store's version id of the new password (never the password). */
  versionId?: string;
  attempts?: number;
  /** Why it failed. */
  detail?: string;
}

export type RotationWaitResult =
  /** The worker accepted the request; one outcome per target. */
  | { request: 'accepted'; rotations: RotationOutcome[] }
  /** The worker refused it; `reason` names the field or the unknown target. */
  | { request: 'refused'; reason: string }
  /** No worker took the request within the timeout. */
  | { request: 'pending' }
  /** No such request job (never added, or removed after it finished). */
  | { request: 'missing' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a request (by the id `requestRotation` returned) and then for the rotations it asked
 * for. Polls job states, so a Redis restart in between is seen rather than waited through forever.
 * The rotations are read (never written) on the worker's `rotations` queue, by rotation id.
 */
export async function waitForRotation(
  connection: ConnectionOptions,
  requestId: string,
  options: WaitForRotationOptions = {},
): Promise<RotationWaitResult> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const pollMs = options.pollMs ?? 500;
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
  const requests = new Queue<RotationRequest, RotationRequestResult>(REQUEST_QUEUE, { connection, prefix });
  const rotations = new Queue(QUEUE_NAMES.rotations, { connection, prefix });
  try {
    let result: RotationRequestResult | undefined;
    for (;;) {
      const job = await Job.fromId<RotationRequest, RotationRequestResult>(requests, requestId);
      if (!job) return { request: 'missing' };
      const state = await job.getState();
      if (state === 'failed') return { request: 'refused', reason: job.failedReason };
      if (state === 'completed') {
        // It may have completed after it was read (then it was read without its return value).
        const done = await Job.fromId<RotationRequest, RotationRequestResult>(requests, requestId);
        if (!done) return { request: 'missing' };
        result = done.returnvalue;
        break;
      }
      if (Date.now() > deadline) return { request: 'pending' };
      await sleep(pollMs);
    }
    const asked = result.rotations;
    const outcomes = await waitForRotations(
      rotations,
      asked.map((r) => ({ targetId: r.targetId, jobId: r.rotationId, deduplicated: r.deduplicated })),
      { timeoutMs: Math.max(0, deadline - Date.now()), pollMs },
    );
    return {
      request: 'accepted',
      rotations: outcomes.map((o, i) => ({
        targetId: o.targetId,
        rotationId: o.jobId,
        deduplicated: asked[i]!.deduplicated,
        outcome: o.outcome,
        ...(o.versionId !== undefined ? { versionId: o.versionId } : {}),
        ...(o.attempts !== undefined ? { attempts: o.attempts } : {}),
        ...(o.detail !== undefined ? { detail: o.detail } : {}),
      })),
    };
  } finally {
    await Promise.all([requests.close(), rotations.close()]);
  }
}
