export { decide, KIND_POLICY } from './decide.js';
export type { Decision, DecideInput, KindPolicy } from './decide.js';
export { rotate, VERIFY_ATTEMPTS } from './rotate.js';
export { RotationError, isRotationError } from './rotation-error.js';
export type { RotationErrorDetails, RotationErrorJSON } from './rotation-error.js';
export { versionToken, generationTokens, MAX_GENERATIONS } from './token.js';
export type { VersionTokenInput } from './token.js';
export * from './types.js';
