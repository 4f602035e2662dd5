import type { RetryConfig, RotationTiming } from '../src/config/schema.js';
import { type RetryDecision, decideRetry } from '../src/rotation/retry-decision.js';
import type { ConflictResolution } from '../src/rotation/types.js';
import type { RotationFailureFacts } from './alerts.js';
import type { RotateJobData } from '../src/queue/definitions.js';

/**
 * A conflict the rotation core settles by starting over: the same job runs again at once under a new
 * rotation id (`round`), re-applying what the store holds.
 */
export type FreshRound = Extract<RetryDecision, { action: 'retry' }> & { round: number };

/** What the processor does after one failed run: a fresh round, or the rotation core's retry decision. */
export type NextStep = RetryDecision | FreshRound;

export interface NextStepInput {
  error: RotationFailureFacts & {
    retryAfterMs?: number | undefined;
    storeStateKnown?: boolean | undefined;
    conflictResolution?: ConflictResolution | undefined;
  };
  data: RotateJobData;
  retry: RetryConfig;
  timing: RotationTiming;
  /** A draw in [0, 1) for the full jitter. */
  random: () => number;
}

/** The retry decision (src/rotation/retry-decision.ts) fed from the job's data and the target's config. */
export function nextStep(input: NextStepInput): NextStep {
  const { error, data, retry, timing } = input;
  // Not a retry of this rotation, so not the decision table's (it stops every conflict): the core asked
  // for a fresh rotation, which a new round gives while retry.attempts allow.
  if (
    error.kind === 'conflict' &&
    error.conflictResolution === 'fresh-rotation' &&
    data.failures + 1 < retry.attempts
  ) {
    return {
      action: 'retry',
      delayMs: 0,
      counters: { failures: data.failures + 1, busyMs: data.busyMs },
      alert: 'conflict',
      reason:
        "conflict: a fresh rotation re-applies the store's pending value (or a new password) and promotes it",
      round: (data.round ?? 0) + 1,
    };
  }
  return decideRetry({
    // A run stages nothing before it has read the store: when the first run of a rotation could not
    // read it, no pending version of this rotation can be left, and its alert must not say one may be.
    error: data.attempt <= 1 ? { ...error, storeStateKnown: true } : error,
    counters: { failures: data.failures, busyMs: data.busyMs },
    retry,
    busyBudget: timing.busyBudget,
    draw: input.random(),
  });
}
