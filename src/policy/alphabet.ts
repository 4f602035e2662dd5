import type { CharClass, PasswordPolicy } from './types.js';

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const DIGITS = '0123456789';

/** The class of one character under a policy, or undefined when the policy does not allow it at all. */
export function classOf(ch: string, specials: string): CharClass | undefined {
  if (ch.length !== 1) return undefined;
  if (UPPER.includes(ch)) return 'upper';
  if (LOWER.includes(ch)) return 'lower';
  if (DIGITS.includes(ch)) return 'digit';
  if (specials.includes(ch)) return 'special';
  return undefined;
}

/** Removes duplicate characters, keeping the first occurrence of each. */
export function uniqueChars(text: string): string {
  return [...new Set(text)].join('');
}

/**
 * The characters of one class that a password may contain: the class's characters minus those that a
 * single-character forbidden substring rules out (case-insensitively, so forbidding `a` also removes `A`).
 */
export function classAlphabet(policy: PasswordPolicy, cls: CharClass): string {
  const base =
    cls === 'upper'
      ? UPPER
      : cls === 'lower'
        ? LOWER
        : cls === 'digit'
          ? DIGITS
          : uniqueChars(policy.specials);
  const banned = new Set(
    policy.forbiddenSubstrings.filter((s) => [...s].length === 1).map((s) => s.toLowerCase()),
  );
  return [...base].filter((ch) => !banned.has(ch.toLowerCase())).join('');
}

/** Every character a password may contain, each exactly once, in class order. */
export function policyAlphabet(policy: PasswordPolicy): string {
  return (['upper', 'lower', 'digit', 'special'] as const).map((c) => classAlphabet(policy, c)).join('');
}
