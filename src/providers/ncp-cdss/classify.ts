import type { AnswerFacts, Classified } from '../shared/classification.js';
import { parseVendorError } from '../shared/error-body.js';
import { parseRetryAfter } from '../shared/retry-after.js';
import { ncpResetResponseSchema } from './schema.js';

/**
 * CDSS's own error codes are not published (UNKNOWN in cloud-apis.md): a failure whose vendor
 * message talks about the password is taken as the password being rejected. The sandbox answers
 * password errors as HTTP 400 `{"code":1001,"message":"Invalid kafkaManagerUserPassword: ..."}`.
 */
const PASSWORD_MESSAGE = /password/i;

function withVendor(a: AnswerFacts, kind: Classified['kind']): Classified {
  const v = parseVendorError(a.text);
  const out: Classified = { kind, status: a.status };
  if (v?.code !== undefined) out.vendorCode = v.code;
  if (v?.message !== undefined) out.vendorMessage = v.message;
  const requestId = v?.requestId ?? a.headers['x-request-id'];
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/** Pure classification of a non-2xx answer from the NCP API gateway or CDSS. */
export function classifyNcpFailure(a: AnswerFacts): Classified {
  const s = a.status;
  const c = withVendor(a, 'bad-response');
  if (s === 401 || s === 403) return { ...c, kind: 'auth' };
  if (s === 429) {
    const retryAfterMs = parseRetryAfter(a.headers['retry-after'], a.nowMs);
    return retryAfterMs === undefined
      ? { ...c, kind: 'throttled' }
      : { ...c, kind: 'throttled', retryAfterMs };
  }
  if (s === 404) return { ...c, kind: 'not-found' };
  if (s === 409) return { ...c, kind: 'busy' };
  if (s === 412) return { ...c, kind: 'precondition' };
  if (s >= 500 && s <= 599) return { ...c, kind: 'unknown-outcome' };
  if (s >= 400 && s <= 499) {
    if (c.vendorCode === undefined && c.vendorMessage === undefined) return c;
    return { ...c, kind: PASSWORD_MESSAGE.test(c.vendorMessage ?? '') ? 'password-rejected' : 'bad-request' };
  }
  return c;
}

/** Pure: a 2xx answer to a reset. Undefined when it is a success (`code: 0, result: true`). */
export function classifyNcpResetSuccess(a: AnswerFacts): Classified | undefined {
  let json: unknown;
  try {
    json = JSON.parse(a.text);
  } catch {
    return { kind: 'bad-response', status: a.status };
  }
  const parsed = ncpResetResponseSchema.safeParse(json);
  if (!parsed.success) return withVendor(a, 'bad-response');
  const { code, result, message, requestId } = parsed.data;
  if (String(code) === '0' && result === true) return undefined;
  const out: Classified = { kind: 'bad-response', status: a.status, vendorCode: String(code) };
  if (message) out.vendorMessage = message;
  if (requestId) out.requestId = requestId;
  if (String(code) !== '0' && message && PASSWORD_MESSAGE.test(message)) out.kind = 'password-rejected';
  return out;
}
