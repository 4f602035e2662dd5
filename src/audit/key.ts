import { ConfigError } from '../config/problems.js';
import { resolveRef } from '../config/refs.js';
import type { SecretRef } from '../config/schema.js';
import { processSecrets, type SecretRegistry } from '../log/secret-registry.js';

/** Shorter keys are refused: an HMAC is only as strong as its key. */
export const AUDIT_KEY_MIN_BYTES = 16;

/**
 * The HMAC key of the audit chain (`audit.key`): the referenced value's UTF-8 bytes, registered
 * for scrubbing like every resolved secret. Undefined without `audit.key`. Throws ConfigError
 * naming `audit.key`, never the value.
 */
export function resolveAuditKey(
  ref: SecretRef | undefined,
  options: { env?: NodeJS.ProcessEnv; registry?: SecretRegistry; source?: string } = {},
): Buffer | undefined {
  if (!ref) return undefined;
  const fail = (message: string) =>
    new ConfigError(options.source ?? 'config', [{ path: 'audit.key', message }]);
  let value: string;
  try {
    value = resolveRef(ref, options.env ?? process.env, options.registry ?? processSecrets);
  } catch (err) {
    throw fail((err as Error).message);
  }
  const key = Buffer.from(value, 'utf8');
  if (key.length < AUDIT_KEY_MIN_BYTES) {
    throw fail(
      `must be at least ${AUDIT_KEY_MIN_BYTES} bytes, got ${key.length} (e.g. openssl rand -base64 32)`,
    );
  }
  return key;
}
