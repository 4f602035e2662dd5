import type { PolicyOverride } from '../config/schema.js';
import type { ProviderId } from '../config/provider-ids.js';
import { classAlphabet, uniqueChars } from './alphabet.js';
import { PROVIDER_POLICIES } from './catalog.js';
import { PolicyError } from './errors.js';
import { CHAR_CLASSES, type CharClass, type PasswordPolicy } from './types.js';

/** One reason an override cannot be applied, `path` relative to the target (`policy.length`). */
export interface PolicyProblem {
  path: string;
  message: string;
}

export interface NarrowResult {
  /** The narrowed policy (meaningful only when `problems` is empty). */
  policy: PasswordPolicy;
  problems: PolicyProblem[];
}

const describe = (p: PasswordPolicy) => p.name ?? 'the provider';

/**
 * Applies a target's `policy` override to a provider's policy. Pure. An override may only narrow:
 * every attempt to widen a rule, and every combination that no password can satisfy, is a problem.
 */
export function narrowPolicy(
  base: PasswordPolicy,
  override: PolicyOverride | undefined,
  label?: string,
): NarrowResult {
  const problems: PolicyProblem[] = [];
  const who = describe(base);
  if (!override) return { policy: base, problems };

  let minLength = base.minLength;
  let maxLength = base.maxLength;
  const range = `${base.minLength}-${base.maxLength}`;
  if (typeof override.length === 'number') {
    const n = override.length;
    if (n < base.minLength || n > base.maxLength) {
      problems.push({ path: 'policy.length', message: `${n} is outside ${who}'s range ${range}` });
    } else {
      minLength = maxLength = n;
    }
  } else if (override.length) {
    const { min, max } = override.length;
    let ok = true;
    if (min > max) {
      problems.push({ path: 'policy.length', message: `min ${min} is greater than max ${max}` });
      ok = false;
    }
    if (min < base.minLength) {
      problems.push({
        path: 'policy.length.min',
        message: `${min} is below ${who}'s minimum ${base.minLength}`,
      });
      ok = false;
    }
    if (max > base.maxLength) {
      problems.push({
        path: 'policy.length.max',
        message: `${max} is above ${who}'s maximum ${base.maxLength}`,
      });
      ok = false;
    }
    if (ok) {
      minLength = min;
      maxLength = max;
    }
  }

  let specials = base.specials;
  if (override.specials !== undefined) {
    const rejected = [...uniqueChars(override.specials)].filter((ch) => !base.specials.includes(ch));
    for (const ch of rejected) {
      problems.push({ path: 'policy.specials', message: `'${ch}' is not accepted by ${who}` });
    }
    if (rejected.length === 0) specials = uniqueChars(override.specials);
  }

  let minClasses = base.minClasses;
  if (override.minClasses !== undefined) {
    if (override.minClasses < base.minClasses) {
      problems.push({
        path: 'policy.minClasses',
        message: `${override.minClasses} would loosen ${who}'s rule of at least ${base.minClasses} classes (an override may only narrow)`,
      });
    } else {
      minClasses = override.minClasses;
    }
  }

  const forbidden = [...base.forbiddenSubstrings];
  const seen = new Set(forbidden.map((f) => f.toLowerCase()));
  for (const word of override.forbid ?? []) {
    if (!seen.has(word.toLowerCase())) {
      seen.add(word.toLowerCase());
      forbidden.push(word);
    }
  }

  const policy: PasswordPolicy = {
    name: label ?? (base.name ? `${base.name} (narrowed)` : undefined),
    minLength,
    maxLength,
    specials,
    requiredClasses: base.requiredClasses,
    minClasses,
    forbiddenSubstrings: forbidden,
  };
  if (problems.length === 0) problems.push(...satisfiabilityProblems(policy, override));
  return { policy, problems };
}

/** Why no password can satisfy `policy` (empty when one can). Multi-character forbidden words are left to the generator's bounded retry. */
export function satisfiabilityProblems(policy: PasswordPolicy, override?: PolicyOverride): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const available = CHAR_CLASSES.filter((c) => classAlphabet(policy, c).length > 0);
  const missing: CharClass[] = policy.requiredClasses.filter((c) => !available.includes(c));
  const forbidPath = override?.forbid ? 'policy.forbid' : 'policy';
  for (const cls of missing) {
    problems.push({
      path: cls === 'special' && override?.specials ? 'policy.specials' : forbidPath,
      message: `no ${cls} character is left, but ${policy.name ?? 'the policy'} requires one`,
    });
  }
  if (policy.minClasses > available.length) {
    problems.push({
      path: override?.minClasses !== undefined ? 'policy.minClasses' : forbidPath,
      message: `${policy.minClasses} classes required but only ${available.length} have characters left`,
    });
  }
  const needed = Math.max(policy.minClasses, new Set(policy.requiredClasses).size);
  if (policy.maxLength < needed) {
    problems.push({
      path: override?.length !== undefined ? 'policy.length' : 'policy.minClasses',
      message: `a maximum length of ${policy.maxLength} cannot hold the ${needed} required character classes`,
    });
  }
  if (policy.minLength > policy.maxLength) {
    problems.push({
      path: 'policy.length',
      message: `min ${policy.minLength} is greater than max ${policy.maxLength}`,
    });
  }
  return problems;
}

/**
 * The effective policy of a target: its provider's, narrowed by its override. Throws PolicyError
 * listing every problem (the config check reports the same problems before anything runs).
 */
export function targetPolicy(
  provider: ProviderId,
  override?: PolicyOverride,
  targetId?: string,
): PasswordPolicy {
  const base = PROVIDER_POLICIES[provider];
  const label = override && targetId ? `${provider} narrowed by target ${targetId}` : undefined;
  const { policy, problems } = narrowPolicy(base, override, label);
  if (problems.length > 0) throw new PolicyError(policy.name ?? provider, problems);
  return policy;
}
