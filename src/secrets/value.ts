import { SecretStoreError, type SecretValue } from './types.js';

/** Same rule as the config's `secret.id` and AWS's secret names. */
const SECRET_ID_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** AWS ClientRequestToken / VersionId: 32-64 characters; we also keep them printable and space-free. */
const TOKEN_PATTERN = /^[\x21-\x7e]{32,64}$/;

const REQUIRED_FIELDS = ['username', 'password', 'engine'] as const;

export function assertSecretId(secretId: string): void {
  if (typeof secretId !== 'string' || !SECRET_ID_PATTERN.test(secretId)) {
    throw new SecretStoreError(
      'invalid',
      `secret id '${String(secretId).slice(0, 80)}' must be 1-512 letters, digits or / _ + = . @ -`,
    );
  }
}

export function assertToken(secretId: string, token: string): void {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
    throw new SecretStoreError(
      'invalid',
      `version id for secret ${secretId} must be 32-64 printable characters without spaces ` +
        `(got ${typeof token === 'string' ? `${token.length} characters` : typeof token})`,
      { secretId },
    );
  }
}

/** Checks the shape; the error names the field, never its value. */
export function assertSecretValue(
  secretId: string,
  value: unknown,
  versionId?: string,
): asserts value is SecretValue {
  const where = versionId ? `secret ${secretId} version ${versionId}` : `secret ${secretId}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SecretStoreError('invalid', `value of ${where} must be an object`, { secretId, versionId });
  }
  const record = value as Record<string, unknown>;
  for (const field of REQUIRED_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new SecretStoreError(
        'invalid',
        `value of ${where}: field '${field}' must be a non-empty string`,
        {
          secretId,
          versionId,
        },
      );
    }
  }
  for (const [field, v] of Object.entries(record)) {
    if (typeof v !== 'string') {
      throw new SecretStoreError('invalid', `value of ${where}: field '${field}' must be a string`, {
        secretId,
        versionId,
      });
    }
  }
}

/**
 * The JSON text stored for a value, with a fixed key order (username, password, engine, then the
 * rest sorted) so that the same value always serialises to the same string: AWS compares
 * SecretString byte for byte when a token is reused.
 */
export function serializeValue(value: SecretValue): string {
  const ordered: Record<string, string> = {
    username: value.username,
    password: value.password,
    engine: value.engine,
  };
  for (const key of Object.keys(value).sort()) {
    if (!(key in ordered)) ordered[key] = value[key] as string;
  }
  return JSON.stringify(ordered);
}

/** Parses stored JSON; a value that is not rotator JSON is 'corrupt' (the message holds no part of it). */
export function parseValue(secretId: string, versionId: string, text: string | undefined): SecretValue {
  let parsed: unknown;
  try {
    if (text === undefined) throw new Error('no SecretString');
    parsed = JSON.parse(text);
  } catch {
    throw new SecretStoreError(
      'corrupt',
      `secret ${secretId} version ${versionId} does not hold JSON text (username, password, engine)`,
      { secretId, versionId },
    );
  }
  try {
    assertSecretValue(secretId, parsed, versionId);
  } catch (err) {
    throw new SecretStoreError('corrupt', (err as Error).message, { secretId, versionId });
  }
  return { ...parsed };
}

/** Replaces every occurrence of the given secrets in `text` (for messages a remote end might echo). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  }
  return out;
}

/** Every string in a value that could be sensitive if echoed: the password and the whole JSON text. */
export function sensitiveStrings(value: SecretValue | undefined): string[] {
  if (!value) return [];
  return [serializeValue(value), value.password];
}
