import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthScheme = 'bearer' | 'basic';

export type AuthCheck =
  | { ok: true; scheme: AuthScheme }
  | { ok: false; reason: 'missing' | 'malformed' | 'wrong' | 'scheme-not-allowed' };

/** Constant-time comparison: both sides are hashed first, so their lengths leak nothing. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/**
 * Checks an Authorization header: `Bearer <token>`, or (where allowed, for the browser dashboard)
 * `Basic base64(user:token)` with any user name. The result never carries the credential.
 */
export function checkAuthorization(
  header: string | undefined,
  token: string,
  allowed: readonly AuthScheme[],
): AuthCheck {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) return { ok: false, reason: 'malformed' };
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === 'bearer') {
    if (!allowed.includes('bearer')) return { ok: false, reason: 'scheme-not-allowed' };
    return tokenMatches(value, token) ? { ok: true, scheme: 'bearer' } : { ok: false, reason: 'wrong' };
  }
  if (scheme === 'basic') {
    if (!allowed.includes('basic')) return { ok: false, reason: 'scheme-not-allowed' };
    if (!/^[A-Za-z0-9+/]+=*$/.test(value)) return { ok: false, reason: 'malformed' };
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'malformed' };
    return tokenMatches(decoded.slice(colon + 1), token)
      ? { ok: true, scheme: 'basic' }
      : { ok: false, reason: 'wrong' };
  }
  return { ok: false, reason: 'scheme-not-allowed' };
}

export const AUTH_REALM = 'secret-rotator';

/** Challenges for a 401: Basic first so a browser prompts for the dashboard. */
export function authChallenges(allowed: readonly AuthScheme[]): string[] {
  const out: string[] = [];
  if (allowed.includes('basic')) out.push(`Basic realm="${AUTH_REALM}", charset="UTF-8"`);
  if (allowed.includes('bearer')) out.push(`Bearer realm="${AUTH_REALM}"`);
  return out;
}
