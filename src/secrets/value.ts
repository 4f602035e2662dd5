import { SecretStoreError } from './types.js';

/** Same rule as the config's `secret.id` and AWS's secret names. */
const SECRET_ID_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** AWS ClientRequestToken / VersionId: 32-64 characters; we also keep them printable and space-free. */
const TOKEN_PATTERN = /^[\x21-\x7e]{32,64}$/;

/** AWS's limit for SecretString. */
export const MAX_SECRET_TEXT = 65_536;

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

/** A version's text must be a non-empty string within AWS's limit; the error never holds the text. */
export function assertSecretText(
  secretId: string,
  text: unknown,
  versionId?: string,
): asserts text is string {
  const where = versionId ? `secret ${secretId} version ${versionId}` : `secret ${secretId}`;
  if (typeof text !== 'string' || text.length === 0) {
    throw new SecretStoreError('invalid', `value of ${where} must be a non-empty string`, {
      secretId,
      versionId,
    });
  }
  if (text.length > MAX_SECRET_TEXT) {
    throw new SecretStoreError(
      'invalid',
      `value of ${where} is ${text.length} characters: the limit is ${MAX_SECRET_TEXT}`,
      { secretId, versionId },
    );
  }
}
