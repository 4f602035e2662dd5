import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Rotator-Signature';
export const TIMESTAMP_HEADER = 'X-Rotator-Timestamp';

/** `sha256=<hex>` HMAC-SHA256 of the exact body bytes, for the X-Rotator-Signature header. */
export function signBody(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifySignature(body: string, key: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, key));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
