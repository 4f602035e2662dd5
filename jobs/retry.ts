import type { RetryConfig, RotationTiming } from '../src/config/schema.js';
import { backoffDelay } from '../src/core/backoff.js';
import { decide } from '../src/rotation/decide.js';
import type { RotationFailureFacts, StopReason } from './alerts.js';
import { stopReason } from './alerts.js';
import type { RotateJobData } from './definitions.js';

/** What the processor does after one failed run. */
export type NextStep =
  | {
      action: 'retry';
      delayMs: number;
      /** Counters for the job data of the next run. */
      counters: Pick<RotateJobData, 'failures' | 'busyMs'>;
      /** Alert now even though the rotation goes on (the cloud accepted a reset it has not confirmed). */
      alert?: StopReason;
      reason: string;
    }
  | { action: 'stop'; alert: StopReason; reason: string };

export interface NextStepInput {
  error: RotationFailureFacts & { retryAfterMs?: number | undefined; storeStateKnown?: boolean | undefined };
  data: RotateJobData;
  retry: RetryConfig;
  timing: RotationTiming;
  /** A draw in [0, 1) for the full jitter. */
  random: () => number;
}

/**
 * Retry or stop, from the rotation core's decision table (`decide`: which kinds retry, which stop,
 * the attempts and busy budgets), with the delay from the full-jitter capped backoff that honours
 * Retry-After (`src/queue/backoff.ts`).
 */
export function nextStep(input: NextStepInput): NextStep {
  const { error, data, retry, timing } = input;
  const failures = data.failures + 1;
  const decision = decide({
    // A run stages nothing before it has read the store: when the first run of a rotation could not
    // read it, no pending version of this rotation can be left, and its alert must not say one may be.
    error: data.attempt <= 1 ? { ...error, storeStateKnown: true } : error,
    attempts: failures,
    busyMs: data.busyMs,
    retry,
    busyBudget: timing.busyBudget,
  });
  if (decision.action === 'alert-and-stop') {
    return { action: 'stop', alert: stopReason(error, decision.reason), reason: decision.reason };
  }
  const immediate = decision.delayMs === 0;
  const delayMs = immediate
    ? 0
    : backoffDelay({
        attempt: failures,
        initialDelay: retry.initialDelay,
        maxDelay: retry.maxDelay,
        retryAfterMs: error.retryAfterMs,
        random: { float: input.random, int: (n) => Math.floor(input.random() * n) },
      });
  const busy = error.kind === 'busy' || error.kind === 'throttled';
  const counters = {
    // a shutdown is not the rotation's fault: it spends no attempt
    failures: error.kind === 'aborted' ? data.failures : failures,
    busyMs: busy ? data.busyMs + delayMs : data.busyMs,
  };
  if (decision.action === 'retry-and-alert') {
    return { action: 'retry', delayMs, counters, alert: 'pending-may-be-applied', reason: decision.reason };
  }
  return { action: 'retry', delayMs, counters, reason: decision.reason };
}
