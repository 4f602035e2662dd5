import { randomInt } from 'node:crypto';

/** Randomness, injected so jitter and choices are reproducible in tests. */
export interface Random {
  /** A uniformly distributed integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A uniformly distributed float in [0, 1). */
  float(): number;
}

export const cryptoRandom: Random = {
  int: (maxExclusive) => randomInt(maxExclusive),
  // randomInt's range may span at most 2^48 - 1 values.
  float: () => randomInt(2 ** 48 - 1) / 2 ** 48,
};

/** Deterministic generator (mulberry32) for tests and benchmarks; never for passwords. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { float: next, int: (maxExclusive) => Math.floor(next() * maxExclusive) };
}
