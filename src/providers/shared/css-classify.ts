import { parseVendorError } from './error-body.js';
import type { AnswerFacts, Classified } from './classification.js';
import { parseRetryAfter } from './retry-after.js';

export const CSS_BUSY_CODES = ['CSS.0011', 'CSS.6013', 'CSS.0077'] as const;
export const CSS_PASSWORD_CODES = ['CSS.0050', 'CSS.0066', 'CSS.2026'] as const;
/** CSS.0047 (400, "the cluster does not exist or has been deleted"): OTC's error-code table. */
export const CSS_NOT_FOUND_CODES = ['CSS.0015', 'CSS.0002', 'CSS.0047'] as const;
/** Gateway codes for bad signature / expired timestamp; CSS.0021 account frozen; CSS.0045 bad token. */
export const CSS_AUTH_CODES = ['APIGW.0301', 'APIGW.0303', 'CSS.0021', 'CSS.0045'] as const;

const has = (list: readonly string[], code: string | undefined) => code !== undefined && list.includes(code);

/**
 * Pure classification of a non-2xx answer from Huawei Cloud / OTC CSS (or their API gateway).
 * The status decides where it is unambiguous; the vendor code refines 400/403; a 400/4xx whose body
 * we cannot read is `bad-response`, with the status.
 */
export function classifyCssFailure(a: AnswerFacts): Classified {
  const v = parseVendorError(a.text);
  const base: Classified = { kind: 'bad-response', status: a.status };
  if (v?.code !== undefined) base.vendorCode = v.code;
  if (v?.message !== undefined) base.vendorMessage = v.message;
  const requestId = a.headers['x-request-id'] ?? v?.requestId;
  if (requestId !== undefined) base.requestId = requestId;
  const code = v?.code;
  const s = a.status;

  if (s === 409 || has(CSS_BUSY_CODES, code)) return { ...base, kind: 'busy' };
  if (s === 429) {
    const retryAfterMs = parseRetryAfter(a.headers['retry-after'], a.nowMs);
    return retryAfterMs === undefined
      ? { ...base, kind: 'throttled' }
      : { ...base, kind: 'throttled', retryAfterMs };
  }
  if (has(CSS_NOT_FOUND_CODES, code) || s === 404) return { ...base, kind: 'not-found' };
  if (s === 401 || s === 403 || has(CSS_AUTH_CODES, code)) return { ...base, kind: 'auth' };
  if (s === 412) return { ...base, kind: 'precondition' };
  if (s >= 500 && s <= 599) return { ...base, kind: 'unknown-outcome' };
  if (s >= 400 && s <= 499) {
    if (has(CSS_PASSWORD_CODES, code)) return { ...base, kind: 'password-rejected' };
    return v === undefined ? base : { ...base, kind: 'bad-request' };
  }
  return base;
}

/**
 * Pure: a 2xx answer from CSS. Both vendors' error-code tables (Huawei css_03_0076, OTC
 * appendixes/error_codes) list CSS.0011 with HTTP 202, so a 2xx is not proof of success: a body that
 * carries an error code (`errCode`, `error_code`, `code`, nested `error`) is that error, classified
 * by its code (202 CSS.0011 is busy). Undefined when the body is empty or carries no error code:
 * only then was the request applied.
 */
export function classifyCssSuccess(a: AnswerFacts): Classified | undefined {
  const v = parseVendorError(a.text);
  if (v?.code === undefined || v.code === '0') return undefined;
  const c = classifyCssFailure(a);
  if (c.kind !== 'bad-response') return c;
  // A code none of the tables place: a refusal we cannot classify; say so.
  return has(CSS_PASSWORD_CODES, v.code)
    ? { ...c, kind: 'password-rejected' }
    : { ...c, detail: `HTTP ${a.status} carrying error code ${v.code}` };
}
