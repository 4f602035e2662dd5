import type { Random } from '../core/random.js';
import { backoffCeiling, backoffDelay } from '../core/backoff.js';
import type { RotationErrorKind } from './types.js';

/** What the caller (the worker) does after a failed run of rotate(). */
export type Decision =
  /** Run rotate() again with the same rotation id after `delayMs`. */
  | { action: 'retry'; delayMs: number; reason: string }
  /** Run it again after `delayMs`, and tell a human now: it may not resolve itself. */
  | { action: 'retry-and-alert'; delayMs: number; reason: string; pendingMayBeApplied: boolean }
  /** Stop retrying and alert: a human must act. */
  | { action: 'alert-and-stop'; reason: string; pendingMayBeApplied: boolean };

export interface DecideInput {
  /** The RotationError, or its toJSON() after it crossed a process boundary. */
  error: {
    kind: RotationErrorKind;
    pendingMayBeApplied: boolean;
    /** False when the run could not read the store (see RotationError.storeStateKnown). */
    storeStateKnown?: boolean | undefined;
    retryAfterMs?: number | undefined;
  };
  /** Failed runs of this rotation so far, this one included (1 after the first failure). */
  attempts: number;
  /** Time this rotation has already spent waiting on busy/throttled answers, in ms. */
  busyMs: number;
  /** The target's retry settings (RetryConfig). */
  retry: { attempts: number; initialDelay: number; maxDelay: number };
  /** How long a target may stay busy before an alert (RotationTiming.busyBudget). */
  busyBudget: number;
  /** Randomness for full jitter (src/queue/backoff.ts); without it the delay is the backoff ceiling. */
  random?: Random;
}

/** How each error kind is handled. */
export type KindPolicy =
  /** Retry at once: the next run does something different (a fresh password, another worker). */
  | 'retry-now'
  /** Exponential backoff with jitter, up to retry.attempts. */
  | 'backoff'
  /** Backoff honouring Retry-After, bounded by busyBudget as well. */
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

const PENDING_NOTE = '; a pending version is left that the cloud may hold';
const UNKNOWN_NOTE = '; the store could not be read: a pending version may be left';

/** The wait before the next run: full-jitter backoff (queue/backoff.ts), honouring Retry-After when given. */
function retryDelay(
  attempts: number,
  retry: DecideInput['retry'],
  retryAfterMs: number | undefined,
  random?: Random,
) {
  const attempt = Math.max(1, attempts);
  if (random) return backoffDelay({ attempt, ...retry, retryAfterMs, random });
  const ceiling = backoffCeiling(attempt, retry.initialDelay, retry.maxDelay);
  return Math.max(ceiling, Math.min(retryAfterMs ?? 0, retry.maxDelay));
}

/** Retry or alert after a failed run: a pure table over the error kind and the attempt history. */
export function decide(input: DecideInput): Decision {
  const { error, attempts, busyMs, retry, busyBudget, random } = input;
  const policy: KindPolicy = KIND_POLICY[error.kind] ?? 'stop';
  const pending = error.pendingMayBeApplied;
  const note = pending ? PENDING_NOTE : error.storeStateKnown === false ? UNKNOWN_NOTE : '';
  const stop = (reason: string): Decision => ({
    action: 'alert-and-stop',
    reason: reason + note,
    pendingMayBeApplied: pending,
  });

  if (policy === 'stop') return stop(`${error.kind}: needs a human`);
  // Shutting down is not the rotation's fault: do not count it, go again.
  if (error.kind === 'aborted') return { action: 'retry', delayMs: 0, reason: 'aborted: re-run to continue' };
  if (attempts >= retry.attempts) return stop(`${error.kind}: gave up after ${attempts} attempts`);

  if (policy === 'retry-now') {
    // A rejected password that the cloud may hold is never replaced automatically.
    if (pending) return stop('password-rejected for a pending password that the cloud may hold');
    return { action: 'retry', delayMs: 0, reason: 'password-rejected: the next run stages a new password' };
  }
  const delayMs = retryDelay(attempts, retry, policy === 'busy' ? error.retryAfterMs : undefined, random);
  if (policy === 'busy') {
    if (busyMs + delayMs > busyBudget) {
      return stop(`${error.kind}: the cluster stayed busy longer than the busy budget`);
    }
    return { action: 'retry', delayMs, reason: `${error.kind}: retry later` };
  }
  if (policy === 'backoff-alert') {
    return {
      action: 'retry-and-alert',
      delayMs,
      reason: `${error.kind}: the cloud accepted the reset but the cluster has not confirmed it${note}`,
      pendingMayBeApplied: pending,
    };
  }
  return { action: 'retry', delayMs, reason: `${error.kind}: retry with backoff${note}` };
}
