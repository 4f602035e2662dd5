import type { JobsOptions } from 'bullmq';
import type { Trigger } from '../audit/types.js';
import { REQUEST_QUEUE, type RequestPriority } from '../requests/contract.js';

/**
 * The queues and their jobs. `triggers` and `rotations` are internal: their data may change in any
 * release, and a job added to them by anything but this worker's own code is not supported (a
 * trigger job is recorded as the scheduler's; a rotation job added by hand skips the per-target
 * deduplication). Other services use `requests`, whose contract is public and versioned
 * (src/requests/contract.ts, docs/enqueue.md).
 *
 * - `triggers`: tiny jobs produced by job schedulers (one per target, plus the watchdog). A trigger
 *   job only enqueues "rotate target X" on the rotations queue, deduplicated per target.
 * - `rotations`: one job per rotation of one target. Its id is the rotation id (stable across
 *   retries); its deduplication id is the target id, so a target never has two rotations waiting,
 *   delayed or running at once, whatever mix of schedulers, CLI and API requests asked for it.
 */
export const QUEUE_NAMES = { triggers: 'triggers', rotations: 'rotations', requests: REQUEST_QUEUE } as const;

/**
 * BullMQ priorities of rotation jobs (1 runs first). Every rotation carries one: BullMQ runs jobs
 * without a priority before all prioritized ones, so an urgent rotation can only go ahead of
 * scheduled work if the scheduled work is prioritized too. Same priority: first in, first out.
 */
export const ROTATION_PRIORITY = { urgent: 1, normal: 10 } as const satisfies Record<RequestPriority, number>;

export const JOB_NAMES = {
  scheduledRotation: 'scheduled-rotation',
  watchdog: 'watchdog',
  rotate: 'rotate',
} as const;

export const WATCHDOG_SCHEDULER_ID = 'watchdog';
const TARGET_SCHEDULER_PREFIX = 'rotate-';

/** The job scheduler of one target. */
export function targetSchedulerId(targetId: string): string {
  return `${TARGET_SCHEDULER_PREFIX}${targetId}`;
}

/** The target id of a scheduler id, or undefined when the scheduler is not a target's. */
export function targetIdOfScheduler(schedulerId: string): string | undefined {
  return schedulerId.startsWith(TARGET_SCHEDULER_PREFIX)
    ? schedulerId.slice(TARGET_SCHEDULER_PREFIX.length)
    : undefined;
}

/** Data of a scheduler's trigger job: ids only. */
export interface ScheduledRotationData {
  targetId: string;
}

/**
 * Data of a rotation job: ids, who asked, and the retry counters. Never a password: the password
 * lives only in the secret store's pending version.
 */
export interface RotateJobData {
  targetId: string;
  trigger: Trigger;
  actor: string;
  /** Why, in the requester's words (queue requests); free text, never a secret by contract. */
  reason?: string;
  requestedAt: number;
  /** Runs of the processor for this rotation so far (1 on the first run). */
  attempt: number;
  /** Failed runs so far (bounded by the target's retry.attempts). */
  failures: number;
  /** Time spent waiting on busy (409) / throttled (429) answers so far, in ms (bounded by busyBudget). */
  busyMs: number;
  /** W3C traceparent of the first run when tracing is on: later runs continue that trace. */
  traceparent?: string;
  /**
   * Fresh rotations this job started after a promote conflict (absent: none). Round n > 0 runs
   * under rotation id `<job id>-round-<n>`, so it stages its own versions.
   */
  round?: number;
}

/** What a completed rotation job returns (shown in the dashboard). Never a secret. */
export interface RotateJobResult {
  targetId: string;
  versionId: string;
  alreadyDone: boolean;
  attempts: number;
}

/**
 * A rotation id: unique across Redis restarts (BullMQ's counter restarts at 1 after a data loss, an
 * id reused for the same target could make the core believe a new rotation was already done).
 * BullMQ custom ids may not be integers nor contain ':'.
 */
export function newRotationId(targetId: string, now: number, random: () => string): string {
  return `rot-${targetId}-${now.toString(36)}-${random()}`;
}

export interface KeepOptions {
  keepCompleted: number;
  keepFailed: number;
}

export function rotationJobOptions(
  jobId: string,
  targetId: string,
  keep: KeepOptions,
  priority: RequestPriority = 'normal',
): JobsOptions {
  return {
    jobId,
    deduplication: { id: targetId },
    priority: ROTATION_PRIORITY[priority],
    // Retries are decided by the processor (moveToDelayed + DelayedError), not by BullMQ's attempts.
    attempts: 1,
    removeOnComplete: { age: Math.ceil(keep.keepCompleted / 1000) },
    removeOnFail: { age: Math.ceil(keep.keepFailed / 1000) },
  };
}
