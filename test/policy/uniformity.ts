import { classAlphabet } from '../../src/policy/alphabet.js';
import { CHAR_CLASSES, type CharClass, type PasswordPolicy } from '../../src/policy/types.js';

/**
 * Expected count of each character per password of `length`, when each position is drawn uniformly
 * from the alphabet and only candidates with the required classes are kept: E[n_c | valid] / |c|.
 * Computed exactly over all class compositions (multi-character forbidden words are ignored: they
 * change the numbers by less than 1e-6).
 */
export function expectedPerPassword(policy: PasswordPolicy, length: number): Map<string, number> {
  const alphabets = CHAR_CLASSES.map((c) => classAlphabet(policy, c));
  const sizes = alphabets.map((a) => a.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const p = sizes.map((s) => s / total);
  const logFact = [0];
  for (let i = 1; i <= length; i++) logFact.push(logFact[i - 1]! + Math.log(i));
  let mass = 0;
  const sums = [0, 0, 0, 0];
  const n = [0, 0, 0, 0];
  for (n[0] = 0; n[0] <= length; n[0]++)
    for (n[1] = 0; n[0] + n[1] <= length; n[1]++)
      for (n[2] = 0; n[0] + n[1] + n[2] <= length; n[2]++) {
        n[3] = length - n[0] - n[1] - n[2];
        const present = CHAR_CLASSES.filter((_, i) => n[i]! > 0);
        const ok =
          present.length >= policy.minClasses &&
          policy.requiredClasses.every((c: CharClass) => present.includes(c));
        if (!ok) continue;
        let logP = logFact[length]!;
        let possible = true;
        for (let i = 0; i < 4; i++) {
          if (n[i]! > 0 && p[i] === 0) possible = false;
          logP += n[i]! > 0 ? n[i]! * Math.log(p[i]!) - logFact[n[i]!]! : -logFact[0]!;
        }
        if (!possible) continue;
        const w = Math.exp(logP);
        mass += w;
        for (let i = 0; i < 4; i++) sums[i]! += w * n[i]!;
      }
  const out = new Map<string, number>();
  alphabets.forEach((alphabet, i) => {
    for (const ch of alphabet) out.set(ch, sums[i]! / mass / alphabet.length);
  });
  return out;
}

/** Pearson's chi-square statistic of observed character counts against expected counts. */
export function chiSquare(observed: Map<string, number>, expected: Map<string, number>): number {
  let stat = 0;
  for (const [ch, e] of expected) {
    const o = observed.get(ch) ?? 0;
    stat += (o - e) ** 2 / e;
  }
  return stat;
}

/** Upper critical value of chi-square with `df` degrees of freedom (Wilson-Hilferty), for a z-score. */
export function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

export function countChars(passwords: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pw of passwords) for (const ch of pw) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  return counts;
}
