import { createHash, createHmac } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0), symmetric scheme: every POST
 * carries `webhook-id`, `webhook-timestamp` (Unix seconds) and, with a key, `webhook-signature:
 * v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, so receivers can use the stock verifiers.
 */
export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** How the spec serialises a symmetric secret: `whsec_` and the key's bytes in base64. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec's minimum for a symmetric key (192 bits). */
export const WEBHOOK_SECRET_MIN_BYTES = 24;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The HMAC key of a configured secret. `whsec_<base64>` (the spec's form, what the stock verifiers
 * take) is the decoded bytes, at least 24 of them. Any other string is used as its UTF-8 bytes, as
 * the old `X-Rotator-Signature` did (the verifiers' "raw" secret); `whsec_` + base64 of that
 * string gives the same key. Throws an error that never contains the secret.
 */
export function webhookKey(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    if (secret.length === 0) throw new Error('must not be empty');
    return Buffer.from(secret, 'utf8');
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new Error(`a ${WEBHOOK_SECRET_PREFIX} secret must be followed by standard base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < WEBHOOK_SECRET_MIN_BYTES) {
    throw new Error(
      `a ${WEBHOOK_SECRET_PREFIX} secret must hold at least ${WEBHOOK_SECRET_MIN_BYTES} bytes, got ${key.length}`,
    );
  }
  return key;
}

/**
 * The `webhook-id` of a body: `msg_` and a hash of it. The same alert gives the same body, so its
 * retries carry the same id (the receiver's idempotency key); no `.` in it, as the spec asks.
 */
export function webhookMessageId(body: string): string {
  return `msg_${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 32)}`;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8');
  return `v1,${mac.digest('base64')}`;
}
