export {
  createLogger,
  loadPinoPretty,
  type Logger,
  type LoggerOptions,
  LoggerSetupError,
  type LogLevel,
} from './logger.js';
export { isSensitiveKey, REDACT_PATHS, REDACTED, redactSensitiveKeys, SENSITIVE_KEYS } from './redact.js';
export {
  MIN_SECRET_LENGTH,
  processSecrets,
  SCRUBBED,
  SecretRegistry,
  TargetSecrets,
} from './secret-registry.js';
