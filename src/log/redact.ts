import { stdSerializers } from 'pino';
import { REDACTED } from './scrubber.js';

/**
 * Field names that carry a secret wherever they appear (compared case-insensitively): the bodies we
 * send (`newpassword` for CSS, `kafkaManagerUserPassword` for NCP), credentials, and the headers that
 * carry a signature or a token.
 */
export const SENSITIVE_KEYS = [
  'password',
  'newpassword',
  'newPassword',
  'oldPassword',
  'kafkaManagerUserPassword',
  'passwd',
  'secretKey',
  'secret_key',
  'secretAccessKey',
  'sk',
  'token',
  'accessToken',
  'sessionToken',
  'hmacKey',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'x-ncp-apigw-signature-v2',
  'X-Auth-Token',
  'x-auth-token',
  'x-security-token',
  'SecretString',
  'SecretBinary',
  'secretValue',
] as const;

const SENSITIVE = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE.has(key.toLowerCase());
}

const pathPart = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);

/**
 * pino `redact` paths: every sensitive key at the top level and one or two levels down
 * (`password`, `*.password`, `*.*.password`, `*["x-auth-token"]`, ...). pino's wildcards match one level
 * each; deeper fields are caught by {@link redactSensitiveKeys}, which runs first as a log formatter.
 */
export const REDACT_PATHS: readonly string[] = [...new Set(SENSITIVE_KEYS)].flatMap((key) => {
  const part = pathPart(key);
  const top = part.startsWith('.') ? part.slice(1) : part.replace(/^\[/, '[');
  return [top, `*${part}`, `*.*${part}`];
});

/**
 * The top-level REDACT_PATHS (no wildcard): what the logger gives pino's `redact`. The wildcard
 * paths made pino walk every member of every line (about 20 times the cost of the line itself),
 * for keys that {@link redactSensitiveKeys} has already replaced at every depth by then.
 */
export const REDACT_TOP_LEVEL_PATHS: readonly string[] = REDACT_PATHS.filter((p) => !p.startsWith('*'));

const MAX_DEPTH = 12;

/**
 * A copy of `value` where every sensitive key, at any depth and in any letter case, holds [REDACTED].
 * Errors are serialised (type, message, stack, own fields, cause) so their fields are checked too.
 */
export function redactSensitiveKeys<T>(value: T): T {
  return walk(value, 0, new WeakSet()) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return '[Depth]';
  seen.add(value);
  try {
    if (value instanceof Error) return walk(stdSerializers.err(value), depth, seen);
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSensitiveKey(k) && v !== undefined && v !== null ? REDACTED : walk(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
