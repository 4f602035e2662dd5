export {
  createLogger,
  loadPinoPretty,
  type Logger,
  type LoggerOptions,
  LoggerSetupError,
  type LogLevel,
} from './logger.js';
export { isSensitiveKey, REDACT_PATHS, redactSensitiveKeys, SENSITIVE_KEYS } from './redact.js';
export { REDACTED, type Scrubber, type ScrubbableError, scrubErrorWith } from './scrubber.js';
export {
  MIN_SECRET_LENGTH,
  processSecrets,
  SecretRegistry,
  scrubberOf,
  TargetSecrets,
} from './secret-registry.js';
