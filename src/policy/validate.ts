import { CHAR_CLASSES, type CharClass, type PasswordPolicy } from './types.js';

/**
 * A validator written independently of the generator: it looks only at the password and the policy
 * data, never at how passwords are drawn. Its messages never contain the password or parts of it.
 */

export type PasswordRule =
  'too-short' | 'too-long' | 'char-not-allowed' | 'missing-class' | 'too-few-classes' | 'forbidden-substring';

export interface PasswordViolation {
  rule: PasswordRule;
  message: string;
}

function charClass(code: number, specials: ReadonlySet<string>, ch: string): CharClass | undefined {
  if (code >= 0x41 && code <= 0x5a) return 'upper';
  if (code >= 0x61 && code <= 0x7a) return 'lower';
  if (code >= 0x30 && code <= 0x39) return 'digit';
  if (specials.has(ch)) return 'special';
  return undefined;
}

/** Every rule of `policy` that `password` breaks (empty when it complies). */
export function validatePassword(password: string, policy: PasswordPolicy): PasswordViolation[] {
  const violations: PasswordViolation[] = [];
  const chars = Array.from(password);
  if (chars.length < policy.minLength) {
    violations.push({
      rule: 'too-short',
      message: `has ${chars.length} characters, fewer than the minimum ${policy.minLength}`,
    });
  }
  if (chars.length > policy.maxLength) {
    violations.push({
      rule: 'too-long',
      message: `has ${chars.length} characters, more than the maximum ${policy.maxLength}`,
    });
  }

  const specials = new Set(Array.from(policy.specials));
  const present = new Set<CharClass>();
  let outside = 0;
  for (const ch of chars) {
    const cls = charClass(ch.codePointAt(0) ?? 0, specials, ch);
    if (cls) present.add(cls);
    else outside++;
  }
  if (outside > 0) {
    violations.push({
      rule: 'char-not-allowed',
      message: `contains ${outside} character(s) outside the allowed letters, digits and specials`,
    });
  }
  for (const cls of policy.requiredClasses) {
    if (!present.has(cls)) {
      violations.push({ rule: 'missing-class', message: `contains no ${cls} character` });
    }
  }
  const classCount = CHAR_CLASSES.filter((c) => present.has(c)).length;
  if (classCount < policy.minClasses) {
    violations.push({
      rule: 'too-few-classes',
      message: `uses ${classCount} of the character classes (upper, lower, digit, special), fewer than ${policy.minClasses}`,
    });
  }
  const lower = password.toLowerCase();
  for (const word of policy.forbiddenSubstrings) {
    if (lower.includes(word.toLowerCase())) {
      violations.push({ rule: 'forbidden-substring', message: `contains '${word}' (in some letter case)` });
    }
  }
  return violations;
}

export function isValidPassword(password: string, policy: PasswordPolicy): boolean {
  return validatePassword(password, policy).length === 0;
}
