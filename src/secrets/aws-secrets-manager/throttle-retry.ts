import type { Clock } from '../../core/clock.js';

export interface ThrottleRetryOptions {
  /** Total time spent sleeping on throttles before the throttle is passed on (default 60 s). */
  maxWaitMs?: number | undefined;
  /** First backoff ceiling (default 100 ms); doubles per throttle up to capMs. */
  baseMs?: number | undefined;
  /** Largest backoff ceiling (default 5 s). */
  capMs?: number | undefined;
  /** At most this many tries in all (default 100): a bound even when random() keeps drawing 0. */
  maxTries?: number | undefined;
}

export const THROTTLE_RETRY_DEFAULTS = { maxWaitMs: 60_000, baseMs: 100, capMs: 5_000, maxTries: 100 };

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)), attempt counting from 0. */
export function throttleDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export interface RetryThrottledDeps {
  clock: Pick<Clock, 'sleep'>;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Told of every throttle, retried or not. */
  onThrottle?: (() => void) | undefined;
}

/**
 * Runs `call` until it does not fail with a throttle (`isThrottle`), sleeping a fully jittered,
 * exponentially growing delay between tries; the total sleep stays within maxWaitMs. The last
 * throttle error, or any other error, is thrown as it is.
 */
export async function retryThrottled<T>(
  call: () => Promise<T>,
  isThrottle: (err: unknown) => boolean,
  deps: RetryThrottledDeps,
  options: ThrottleRetryOptions = {},
): Promise<T> {
  const maxWaitMs = options.maxWaitMs ?? THROTTLE_RETRY_DEFAULTS.maxWaitMs;
  const baseMs = options.baseMs ?? THROTTLE_RETRY_DEFAULTS.baseMs;
  const capMs = options.capMs ?? THROTTLE_RETRY_DEFAULTS.capMs;
  const maxTries = options.maxTries ?? THROTTLE_RETRY_DEFAULTS.maxTries;
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isThrottle(err)) throw err;
      deps.onThrottle?.();
      if (attempt + 1 >= maxTries || waited >= maxWaitMs) throw err;
      const delay = Math.min(throttleDelay(attempt, baseMs, capMs, deps.random), maxWaitMs - waited);
      waited += delay;
      await deps.clock.sleep(delay);
    }
  }
}
