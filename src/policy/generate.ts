import { generate } from 'generate-password';
import type { SecretRegistry } from '../log/secret-registry.js';
import { policyAlphabet } from './alphabet.js';
import { PasswordGenerationError } from './errors.js';
import type { PasswordPolicy } from './types.js';
import { validatePassword, type PasswordRule } from './validate.js';

export const DEFAULT_MAX_ATTEMPTS = 200;
/** Default length: the policy's maximum, but no longer than this. */
export const MAX_DEFAULT_LENGTH = 32;

/** Draws one candidate of `length` characters, each uniformly from `alphabet`. */
export type CandidateSource = (alphabet: string, length: number) => string;

/**
 * Candidates from generate-password. Why this is uniform over our alphabet: generate-password
 * concatenates its enabled pools into one string and draws `pool[randomNumber(pool.length)]`, with
 * `randomNumber` rejection-sampling crypto.randomBytes (unbiased for pools up to 256 characters). We
 * disable its built-in letter/digit pools and pass our whole alphabet, deduplicated, as `symbols`,
 * so its pool is exactly our alphabet with each character once: every allowed character has the same
 * probability. We never use `exclude` (it removes only the first occurrence of a character, so a
 * duplicated character would stay over-weighted) nor `strict` (it builds a regex from the unescaped
 * symbol string: `]` overflows the stack and `^` passes without any symbol).
 */
export const generatePasswordSource: CandidateSource = (alphabet, length) =>
  generate({ length, lowercase: false, uppercase: false, numbers: false, symbols: alphabet, exclude: '' });

export interface GenerateOptions {
  /** Exact length; default `min(policy.maxLength, 32)` (never below the policy's minimum). */
  length?: number;
  /** Candidates to try before giving up; default 200. */
  maxAttempts?: number;
  /** When given, every returned password is registered here so loggers scrub it by value. */
  registry?: SecretRegistry;
  /** Where candidates come from (default: generate-password); the validator gates whatever it returns. */
  source?: CandidateSource;
}

export function defaultLength(policy: PasswordPolicy): number {
  return Math.max(policy.minLength, Math.min(policy.maxLength, MAX_DEFAULT_LENGTH));
}

const policyLabel = (policy: PasswordPolicy) => policy.name ?? 'unnamed policy';

/**
 * A password that satisfies `policy`, drawn uniformly from its alphabet and checked by the independent
 * validator; retried at most `maxAttempts` times, then PasswordGenerationError (naming the policy and
 * the rules that failed, never a candidate).
 */
export function generatePassword(policy: PasswordPolicy, options: GenerateOptions = {}): string {
  const name = policyLabel(policy);
  const length = options.length ?? defaultLength(policy);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const source = options.source ?? generatePasswordSource;
  if (!Number.isInteger(length) || length < policy.minLength || length > policy.maxLength) {
    throw new PasswordGenerationError(
      name,
      0,
      `cannot generate for policy ${name}: length ${length} is outside ${policy.minLength}-${policy.maxLength}`,
    );
  }
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const alphabet = policyAlphabet(policy);
  if (alphabet.length === 0 || alphabet.length > 256) {
    throw new PasswordGenerationError(
      name,
      0,
      `cannot generate for policy ${name}: its alphabet has ${alphabet.length} characters (need 1-256)`,
    );
  }

  const failures = new Map<PasswordRule, number>();
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const candidate = source(alphabet, length);
    const violations = validatePassword(candidate, policy);
    if (violations.length === 0) {
      options.registry?.add(candidate);
      return candidate;
    }
    for (const v of violations) failures.set(v.rule, (failures.get(v.rule) ?? 0) + 1);
  }
  const summary = [...failures].map(([rule, n]) => `${rule} x${n}`).join(', ');
  throw new PasswordGenerationError(
    name,
    maxAttempts,
    `no password satisfying policy ${name} (length ${length}, ${alphabet.length} allowed characters) after ${maxAttempts} attempts; rejections: ${summary}`,
  );
}
