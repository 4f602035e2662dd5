import { backoffRange, jitter } from '../core/backoff.js';
import type { RotationErrorKind } from './types.js';

/**
 * The one retry decision after a failed run of rotate(): retry (after how long, with which counters,
 * alerting now or not) or stop (with which alert). Pure: the caller passes the facts, the counters
 * from the job, the budgets from the target's config, and one random draw.
 */

/**
 * The alerts a retry decision can raise. The alert texts (jobs/alerts.ts) are checked against this
 * union by the compiler: a reason added here without a text does not build.
 */
export type RetryAlert =
  /** The retries (retry.attempts) are spent, or the failure cannot be retried for another reason. */
  | 'final-failure'
  | 'busy-budget-spent'
  /** The cloud accepted a reset the cluster has not confirmed: a pending version it may hold. */
  | 'pending-may-be-applied'
  | 'precondition'
  | 'auth'
  | 'not-found'
  | 'bad-request'
  | 'cluster-failed'
  | 'rejections-exhausted'
  | 'secret-unreadable'
  | 'conflict';

/** What the retries of one rotation have spent so far (kept in the job's data). */
export interface RetryCounters {
  /** Failed runs that count against retry.attempts. */
  failures: number;
  /** Time spent waiting on busy/throttled answers, in ms; bounded by the busy budget. */
  busyMs: number;
}

export type RetryDecision =
  | {
      /** Run rotate() again with the same rotation id after `delayMs`. */
      action: 'retry';
      delayMs: number;
      /** The counters after this failure, for the next run's job data. */
      counters: RetryCounters;
      /** Alert now even though the rotation goes on. */
      alert?: RetryAlert;
      /** Why, in words, for the log and the alert's summary. Never holds a secret. */
      reason: string;
    }
  /** Stop retrying and alert: a human must act. */
  | { action: 'stop'; alert: RetryAlert; reason: string };

export interface RetryDecisionInput {
  /** The RotationError, or its toJSON() after it crossed a process boundary. */
  error: {
    kind: RotationErrorKind;
    pendingMayBeApplied: boolean;
    /** False when the run could not read the store (see RotationError.storeStateKnown). */
    storeStateKnown?: boolean | undefined;
    retryAfterMs?: number | undefined;
  };
  /** The counters before this failure (0 and 0 after the first run). */
  counters: RetryCounters;
  /** The target's retry settings (RetryConfig). */
  retry: { attempts: number; initialDelay: number; maxDelay: number };
  /** How long a target may stay busy before an alert (RotationTiming.busyBudget). */
  busyBudget: number;
  /** One uniform draw in [0, 1) for the full jitter of the delay. */
  draw: number;
}

/** How each error kind is handled. */
export type KindPolicy =
  /** Retry at once: the next run does something different (a fresh password, another worker). */
  | 'retry-now'
  /** Exponential backoff with jitter, up to retry.attempts. */
  | 'backoff'
  /** Backoff, bounded by busyBudget as well (the cloud's Retry-After is honoured for every kind that sends one). */
  | 'busy'
  /** Backoff, and alert now: a reset was accepted but the cluster has not confirmed it. */
  | 'backoff-alert'
  /** A human must act. */
  | 'stop';

export const KIND_POLICY = {
  busy: 'busy',
  throttled: 'busy',
  'unknown-outcome': 'backoff',
  'bad-response': 'backoff',
  'password-rejected': 'retry-now',
  precondition: 'stop',
  auth: 'stop',
  'not-found': 'stop',
  'bad-request': 'stop',
  'ready-timeout': 'backoff',
  'settle-timeout': 'backoff-alert',
  'cluster-failed': 'stop',
  'verify-failed': 'backoff-alert',
  'rejections-exhausted': 'stop',
  store: 'backoff',
  policy: 'stop',
  'secret-unreadable': 'stop',
  aborted: 'retry-now',
  internal: 'backoff',
  // Never a blind retry: the worker starts a fresh rotation when the core asks for one.
  conflict: 'stop',
} as const satisfies Record<RotationErrorKind, KindPolicy>;

/** The kinds whose policy is 'stop'. */
type StopKind = {
  [K in RotationErrorKind]: (typeof KIND_POLICY)[K] extends 'stop' ? K : never;
}[RotationErrorKind];

/** The alert of each kind that needs a human at once; the compiler checks every such kind has one. */
export const STOP_ALERT = {
  precondition: 'precondition',
  auth: 'auth',
  'not-found': 'not-found',
  'bad-request': 'bad-request',
  'cluster-failed': 'cluster-failed',
  'rejections-exhausted': 'rejections-exhausted',
  policy: 'final-failure',
  'secret-unreadable': 'secret-unreadable',
  conflict: 'conflict',
} as const satisfies Record<StopKind, RetryAlert>;

/** The alert of a kind whose policy is 'stop'; a kind this version does not know gets 'final-failure'. */
function stopAlert(kind: RotationErrorKind): RetryAlert {
  const table: Partial<Record<RotationErrorKind, RetryAlert>> = STOP_ALERT;
  return table[kind] ?? 'final-failure';
}

const PENDING_NOTE = '; a pending version is left that the cloud may hold';
const UNKNOWN_NOTE = '; the store could not be read: a pending version may be left';

/** Retry or stop after a failed run: a pure table over the error kind, the counters and the budgets. */
export function decideRetry(input: RetryDecisionInput): RetryDecision {
  const { error, counters, retry, busyBudget, draw } = input;
  const policy: KindPolicy = KIND_POLICY[error.kind] ?? 'stop';
  const pending = error.pendingMayBeApplied;
  const note = pending ? PENDING_NOTE : error.storeStateKnown === false ? UNKNOWN_NOTE : '';
  /** Failed runs, this one included. */
  const failures = counters.failures + 1;
  const stop = (alert: RetryAlert, reason: string): RetryDecision => ({
    action: 'stop',
    alert,
    reason: reason + note,
  });

  if (policy === 'stop') return stop(stopAlert(error.kind), `${error.kind}: needs a human`);
  // Shutting down is not the rotation's fault: do not count it, go again.
  if (error.kind === 'aborted') {
    return { action: 'retry', delayMs: 0, counters, reason: 'aborted: re-run to continue' };
  }
  if (failures >= retry.attempts) {
    return stop('final-failure', `${error.kind}: gave up after ${failures} attempts`);
  }

  if (policy === 'retry-now') {
    // A rejected password that the cloud may hold is never replaced automatically.
    if (pending) {
      return stop('final-failure', 'password-rejected for a pending password that the cloud may hold');
    }
    return {
      action: 'retry',
      delayMs: 0,
      counters: { failures, busyMs: counters.busyMs },
      reason: 'password-rejected: the next run stages a new password',
    };
  }

  // Full-jitter backoff, never sooner than the cloud's Retry-After (src/core/backoff.ts).
  const range = backoffRange({ attempt: failures, ...retry, retryAfterMs: error.retryAfterMs });
  if (policy === 'busy') {
    // Checked against the longest wait the draw can give, so a retry never overruns the budget.
    if (counters.busyMs + range.top > busyBudget) {
      return stop('busy-budget-spent', `${error.kind}: the cluster stayed busy longer than the busy budget`);
    }
    const delayMs = jitter(range, draw);
    return {
      action: 'retry',
      delayMs,
      counters: { failures, busyMs: counters.busyMs + delayMs },
      reason: `${error.kind}: retry later`,
    };
  }
  const delayMs = jitter(range, draw);
  const next = { failures, busyMs: counters.busyMs };
  if (policy === 'backoff-alert') {
    return {
      action: 'retry',
      delayMs,
      counters: next,
      alert: 'pending-may-be-applied',
      reason: `${error.kind}: the cloud accepted the reset but the cluster has not confirmed it${note}`,
    };
  }
  return { action: 'retry', delayMs, counters: next, reason: `${error.kind}: retry with backoff${note}` };
}
