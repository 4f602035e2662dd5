import type { Random } from './random.js';

/**
 * Retry arithmetic, pure (like BullMQ's backoffs.ts), in the ground layer: the rotation core's
 * retry decision and the alerter both call it.
 *
 * Exponential backoff with FULL jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * the n-th retry waits a uniformly random time in [0, min(maxDelay, initialDelay * 2^(n-1))].
 * Full jitter spreads workers that failed together (say, on one 429) instead of retrying in lockstep.
 *
 * Retry-After: a cloud that sent it is telling us when it will accept the call again, so retrying
 * sooner only earns another 429/409. The delay is then drawn uniformly from [retryAfter, ceiling]
 * (or is exactly retryAfter when the exponential ceiling is below it), so workers told the same
 * Retry-After still spread out after it. Retry-After is honoured only up to `maxDelay`: maxDelay is
 * the operator's bound on any single wait, and a cloud asking for longer (or a broken header saying
 * "a year") is retried at maxDelay; if it still throttles, the next attempt honours its new
 * Retry-After again, at the cost of one attempt.
 */
export interface BackoffInput {
  /** 1 for the first retry (after the first failed attempt), 2 for the second... */
  attempt: number;
  /** Ceiling of the first retry's delay, in ms. */
  initialDelay: number;
  /** Ceiling of any delay, in ms; also caps Retry-After. */
  maxDelay: number;
  /** The cloud's Retry-After, in ms, when it sent one. */
  retryAfterMs?: number | undefined;
  random: Random;
}

function requireNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`backoffDelay: ${name} must be a finite number >= 0, got ${value}`);
  }
}

/** The exponential ceiling for `attempt`, capped at maxDelay, in whole ms. Never overflows. */
export function backoffCeiling(attempt: number, initialDelay: number, maxDelay: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`backoffDelay: attempt must be an integer >= 1, got ${attempt}`);
  }
  requireNonNegative('initialDelay', initialDelay);
  requireNonNegative('maxDelay', maxDelay);
  const cap = Math.floor(maxDelay);
  if (initialDelay === 0) return 0;
  // 2^(attempt-1) overflows to Infinity past ~1024; min() then picks the cap, which is what we want.
  const exponential = initialDelay * 2 ** (attempt - 1);
  return Math.min(cap, Math.floor(exponential));
}

/** The integers a backoff delay is drawn from: `floor`..`top`, both included. */
export interface BackoffRange {
  /** Retry-After (rounded up, capped at maxDelay), or 0 without one. */
  floor: number;
  /** The exponential ceiling, or the floor when that is higher. */
  top: number;
}

/** The range of retry number `attempt`'s delay: [Retry-After, ceiling], within [0, maxDelay]. */
export function backoffRange(input: Omit<BackoffInput, 'random'>): BackoffRange {
  const { attempt, initialDelay, maxDelay, retryAfterMs } = input;
  const ceiling = backoffCeiling(attempt, initialDelay, maxDelay);
  let floor = 0;
  if (retryAfterMs !== undefined) {
    requireNonNegative('retryAfterMs', retryAfterMs);
    floor = Math.min(Math.ceil(retryAfterMs), Math.floor(maxDelay));
  }
  return { floor, top: Math.max(ceiling, floor) };
}

/**
 * One uniform draw in [0, 1) mapped onto the integers of `range`, both ends included. A range of
 * one value needs no draw: it is that value whatever `draw` is.
 */
export function jitter(range: BackoffRange, draw: number): number {
  const { floor, top } = range;
  if (top <= floor) return floor;
  const span = top - floor + 1;
  return floor + Math.min(span - 1, Math.floor(draw * span));
}

/** Milliseconds to wait before retry number `attempt`; an integer in [0, maxDelay]. */
export function backoffDelay(input: BackoffInput): number {
  const range = backoffRange(input);
  // A one-value range takes no draw from `random` (as before the range was split out).
  return range.top <= range.floor ? range.floor : jitter(range, input.random.float());
}
