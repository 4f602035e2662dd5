import type { RetryConfig, RotationTiming } from '../src/config/schema.js';
import { type RetryDecision, decideRetry } from '../src/rotation/retry-decision.js';
import type { RotationFailureFacts } from './alerts.js';
import type { RotateJobData } from '../src/queue/definitions.js';

/** What the processor does after one failed run: the rotation core's retry decision. */
export type NextStep = RetryDecision;

export interface NextStepInput {
  error: RotationFailureFacts & { retryAfterMs?: number | undefined; storeStateKnown?: boolean | undefined };
  data: RotateJobData;
  retry: RetryConfig;
  timing: RotationTiming;
  /** A draw in [0, 1) for the full jitter. */
  random: () => number;
}

/** The retry decision (src/rotation/retry-decision.ts) fed from the job's data and the target's config. */
export function nextStep(input: NextStepInput): NextStep {
  const { error, data, retry, timing } = input;
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
