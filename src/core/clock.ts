import { setTimeout as delay } from 'node:timers/promises';

/** Time, injected everywhere so the core can be tested without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (err) {
      // timers/promises rejects with a generic AbortError: surface the caller's reason instead.
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  },
};

/** A clock that only moves when told: sleep() advances it instantly. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    async sleep(ms, signal) {
      signal?.throwIfAborted();
      t += ms;
    },
  };
}
