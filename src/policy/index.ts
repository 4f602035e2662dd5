export { classAlphabet, classOf, DIGITS, LOWER, policyAlphabet, UPPER } from './alphabet.js';
export {
  CROSS_CLOUD_POLICY,
  CROSS_CLOUD_SPECIALS,
  CSS_SPECIALS,
  HUAWEICLOUD_CSS_POLICY,
  NCP_CDSS_POLICY,
  NCP_SPECIALS,
  OTC_CSS_POLICY,
  PROVIDER_POLICIES,
} from './catalog.js';
export { PasswordGenerationError, PolicyError } from './errors.js';
export {
  type CandidateSource,
  DEFAULT_MAX_ATTEMPTS,
  defaultLength,
  type GenerateOptions,
  generatePassword,
  generatePasswordSource,
  MAX_DEFAULT_LENGTH,
} from './generate.js';
export {
  narrowPolicy,
  type NarrowResult,
  type PolicyProblem,
  satisfiabilityProblems,
  targetPolicy,
} from './narrow.js';
export { CHAR_CLASSES, type CharClass, type PasswordPolicy } from './types.js';
export { isValidPassword, type PasswordRule, type PasswordViolation, validatePassword } from './validate.js';
