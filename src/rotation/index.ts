export { decideRetry, KIND_POLICY, STOP_ALERT } from './retry-decision.js';
export type {
  KindPolicy,
  RetryAlert,
  RetryCounters,
  RetryDecision,
  RetryDecisionInput,
} from './retry-decision.js';
export { rotate, VERIFY_ATTEMPTS } from './rotate.js';
export { RotationError, isRotationError } from './rotation-error.js';
export type { RotationErrorDetails, RotationErrorJSON } from './rotation-error.js';
export { versionToken, generationTokens, MAX_GENERATIONS } from './token.js';
export type { VersionTokenInput } from './token.js';
export * from './types.js';
