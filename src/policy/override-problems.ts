import type { RawTarget } from '../config/load.js';
import type { ConfigProblem } from '../config/problems.js';
import { policyOverrideSchema } from '../config/schema.js';
import { PROVIDER_POLICIES } from './catalog.js';
import { narrowPolicy } from './narrow.js';

/**
 * A target's `policy` override applied to its provider's policy through narrowPolicy: it may only
 * narrow and must stay satisfiable. Runs on the raw target (a ConfigChecks['target']); the paths are
 * relative to the target. A malformed override is left to the schema, which reports its shape.
 */
export function policyOverrideProblems(target: RawTarget): ConfigProblem[] {
  if (target.policy === undefined) return [];
  const override = policyOverrideSchema.safeParse(target.policy);
  if (!override.success) return [];
  return narrowPolicy(PROVIDER_POLICIES[target.provider], override.data).problems;
}
