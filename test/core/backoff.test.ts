import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Random, cryptoRandom, seededRandom } from '../../src/core/random.js';
import { backoffCeiling, backoffDelay, backoffRange, jitter } from '../../src/core/backoff.js';

/** A Random whose float() always returns `f`: pins the jitter to one end of the range. */
const fixed = (f: number): Random => ({ float: () => f, int: (n) => Math.floor(f * n) });

/** initialDelay * 2^(attempt-1), where 0 * Infinity (a huge attempt) counts as 0. */
const exponential = (attempt: number, initialDelay: number) =>
  initialDelay === 0 ? 0 : initialDelay * 2 ** (attempt - 1);

const attemptArb = fc.integer({ min: 1, max: 2000 });
const delayArb = fc.integer({ min: 0, max: 10 * 86_400_000 });
const unitArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  it('is an integer within [0, min(maxDelay, initialDelay * 2^(attempt-1))]', () => {
    fc.assert(
      fc.property(attemptArb, delayArb, delayArb, unitArb, (attempt, initialDelay, maxDelay, f) => {
        const d = backoffDelay({ attempt, initialDelay, maxDelay, random: fixed(f) });
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(maxDelay);
        expect(d).toBeLessThanOrEqual(exponential(attempt, initialDelay));
      }),
    );
  });

  it('reaches both ends of the range (full jitter)', () => {
    fc.assert(
      fc.property(attemptArb, delayArb, delayArb, (attempt, initialDelay, maxDelay) => {
        const ceiling = Math.min(maxDelay, Math.floor(exponential(attempt, initialDelay)));
        expect(backoffDelay({ attempt, initialDelay, maxDelay, random: fixed(0) })).toBe(0);
        expect(backoffDelay({ attempt, initialDelay, maxDelay, random: fixed(1 - 2 ** -52) })).toBe(ceiling);
      }),
    );
  });

  it('doubles the ceiling per attempt until the cap, then stays there', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, 1000, 30_000))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    // Huge attempt numbers do not overflow into NaN or Infinity.
    expect(backoffCeiling(100_000, 1000, 30_000)).toBe(30_000);
    expect(backoffCeiling(100_000, 0, 30_000)).toBe(0);
  });

  it('never waits less than Retry-After, up to maxDelay', () => {
    fc.assert(
      fc.property(
        attemptArb,
        delayArb,
        delayArb,
        fc.integer({ min: 0, max: 20 * 86_400_000 }),
        unitArb,
        (attempt, initialDelay, maxDelay, retryAfterMs, f) => {
          const d = backoffDelay({ attempt, initialDelay, maxDelay, retryAfterMs, random: fixed(f) });
          expect(d).toBeGreaterThanOrEqual(Math.min(retryAfterMs, maxDelay));
          expect(d).toBeLessThanOrEqual(maxDelay);
          // Above the Retry-After floor it is still capped by the exponential ceiling (or sits on the floor).
          const ceiling = backoffCeiling(attempt, initialDelay, maxDelay);
          expect(d).toBeLessThanOrEqual(Math.max(ceiling, Math.min(retryAfterMs, maxDelay)));
        },
      ),
    );
  });

  it('rounds a fractional Retry-After up, never down', () => {
    expect(
      backoffDelay({ attempt: 1, initialDelay: 0, maxDelay: 10_000, retryAfterMs: 1500.2, random: fixed(0) }),
    ).toBe(1501);
  });

  it('spreads workers that got the same Retry-After instead of retrying in lockstep', () => {
    const random = seededRandom(7);
    const delays = Array.from({ length: 200 }, () =>
      backoffDelay({ attempt: 4, initialDelay: 1000, maxDelay: 60_000, retryAfterMs: 2000, random }),
    );
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000);
    expect(new Set(delays).size).toBeGreaterThan(150);
  });

  it('is not degenerate: the draws cover the whole range roughly uniformly', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 12 }), (seed, attempt) => {
        const random = seededRandom(seed);
        const ceiling = backoffCeiling(attempt, 500, 3_600_000);
        const n = 2000;
        const buckets = [0, 0, 0, 0];
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const d = backoffDelay({ attempt, initialDelay: 500, maxDelay: 3_600_000, random });
          sum += d;
          buckets[Math.min(3, Math.floor((d / (ceiling + 1)) * 4))]! += 1;
        }
        // Each quarter of the range holds about n/4 draws; the mean is about ceiling/2.
        for (const b of buckets) expect(b).toBeGreaterThan(n / 4 - 150);
        expect(Math.abs(sum / n - ceiling / 2)).toBeLessThan(ceiling * 0.05);
      }),
      { numRuns: 30 },
    );
  });

  it('works with the production randomness', () => {
    const delays = Array.from({ length: 50 }, () =>
      backoffDelay({ attempt: 3, initialDelay: 1000, maxDelay: 60_000, random: cryptoRandom }),
    );
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of delays) expect(d).toBeLessThanOrEqual(4000);
    expect(new Set(delays).size).toBeGreaterThan(40);
  });

  it('rejects bad input with the field name', () => {
    const random = fixed(0.5);
    expect(() => backoffDelay({ attempt: 0, initialDelay: 1, maxDelay: 1, random })).toThrow(/attempt/);
    expect(() => backoffDelay({ attempt: 1.5, initialDelay: 1, maxDelay: 1, random })).toThrow(/attempt/);
    expect(() => backoffDelay({ attempt: 1, initialDelay: -1, maxDelay: 1, random })).toThrow(/initialDelay/);
    expect(() => backoffDelay({ attempt: 1, initialDelay: 1, maxDelay: NaN, random })).toThrow(/maxDelay/);
    expect(() =>
      backoffDelay({ attempt: 1, initialDelay: 1, maxDelay: 1, retryAfterMs: -5, random }),
    ).toThrow(/retryAfterMs/);
  });
});

describe('backoffRange and jitter: backoffDelay in two steps', () => {
  it('backoffDelay is jitter over backoffRange with the same draw', () => {
    fc.assert(
      fc.property(
        attemptArb,
        delayArb,
        delayArb,
        fc.option(fc.integer({ min: 0, max: 20 * 86_400_000 }), { nil: undefined }),
        unitArb,
        (attempt, initialDelay, maxDelay, retryAfterMs, f) => {
          const range = backoffRange({ attempt, initialDelay, maxDelay, retryAfterMs });
          const d = backoffDelay({ attempt, initialDelay, maxDelay, retryAfterMs, random: fixed(f) });
          expect(jitter(range, f)).toBe(d);
          expect(range.floor).toBeLessThanOrEqual(range.top);
          expect(range.top).toBeLessThanOrEqual(maxDelay);
        },
      ),
    );
  });

  it('maps the draw onto both ends of the range, and a one-value range onto that value', () => {
    expect(jitter({ floor: 10, top: 20 }, 0)).toBe(10);
    expect(jitter({ floor: 10, top: 20 }, 1 - 2 ** -52)).toBe(20);
    expect(jitter({ floor: 7, top: 7 }, 0.9)).toBe(7);
    expect(backoffRange({ attempt: 3, initialDelay: 1000, maxDelay: 60_000, retryAfterMs: 2500.5 })).toEqual({
      floor: 2501,
      top: 4000,
    });
    expect(backoffRange({ attempt: 1, initialDelay: 1000, maxDelay: 60_000, retryAfterMs: 90_000 })).toEqual({
      floor: 60_000,
      top: 60_000,
    });
  });
});
