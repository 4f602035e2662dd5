import { randomBytes } from 'node:crypto';
import {
  JOB_NAMES,
  type KeepOptions,
  newRotationId,
  ROTATION_PRIORITY,
  type RotateJobData,
  rotationJobOptions,
} from './definitions.js';
import type { Trigger } from '../audit/types.js';
import type { RequestPriority } from '../requests/contract.js';
import type { EnqueuedRotation } from './control.js';
import type { RotatorQueues } from './queues.js';

export interface EnqueueRequest {
  targetId: string;
  trigger: Trigger;
  actor: string;
  /** Why, in the requester's words (kept in the job data and the audit trail). */
  reason?: string;
  /** 'urgent' goes ahead of every normal rotation waiting (default 'normal'). */
  priority?: RequestPriority;
}

export interface EnqueueOptions {
  keep: KeepOptions;
  now?: () => number;
}

const LIVE_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

// Deletes the deduplication key only while it still points at the job we found gone, so two
// callers repairing the same stale key cannot delete each other's fresh one.
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Asks for a rotation of one target, exactly as a scheduler does. If a rotation of that target is
 * already waiting, delayed for a retry or running, the request joins it (BullMQ deduplication,
 * simple mode: the key lives until the job completes or finally fails) and its id is returned.
 * An urgent request that joins a normal rotation raises it to urgent (a deduplicated add keeps the
 * existing job's options); a normal request never lowers an urgent one.
 */
export async function enqueueRotation(
  queues: Pick<RotatorQueues, 'rotations' | 'connection'>,
  request: EnqueueRequest,
  options: EnqueueOptions,
): Promise<EnqueuedRotation> {
  const queue = queues.rotations;
  const now = options.now ?? Date.now;
  const jobId = newRotationId(request.targetId, now(), () => randomBytes(4).toString('hex'));
  const data: RotateJobData = {
    targetId: request.targetId,
    trigger: request.trigger,
    actor: request.actor,
    ...(request.reason !== undefined ? { reason: request.reason } : {}),
    requestedAt: now(),
    attempt: 0,
    failures: 0,
    busyMs: 0,
  };
  for (let round = 0; round < 3; round++) {
    const job = await queue.add(
      JOB_NAMES.rotate,
      data,
      rotationJobOptions(jobId, request.targetId, options.keep, request.priority),
    );
    if (job.id === jobId) return { targetId: request.targetId, jobId, deduplicated: false };
    const existingId = job.id ?? '';
    const state = existingId ? await queue.getJobState(existingId) : 'unknown';
    if (LIVE_STATES.has(state)) {
      if (request.priority === 'urgent') await raiseToUrgent(queue, existingId);
      return { targetId: request.targetId, jobId: existingId, deduplicated: true };
    }
    // The key outlived its job (removed by hand, or lost in a partial Redis failure): repair it.
    await queues.connection.eval(DELETE_IF_EQUAL, 1, `${queue.keys.de}:${request.targetId}`, existingId);
  }
  throw new Error(`could not enqueue a rotation of ${request.targetId}: deduplication key keeps changing`);
}

/**
 * Moves a waiting rotation ahead of the normal ones (a delayed or active one keeps the priority for
 * its next run). A job that finished in between has nothing left to raise.
 */
async function raiseToUrgent(queue: RotatorQueues['rotations'], jobId: string): Promise<void> {
  const job = await queue.getJob(jobId);
  if (!job || (job.priority > 0 && job.priority <= ROTATION_PRIORITY.urgent)) return;
  try {
    await job.changePriority({ priority: ROTATION_PRIORITY.urgent });
  } catch (err) {
    if (await queue.getJob(jobId)) throw err;
  }
}
