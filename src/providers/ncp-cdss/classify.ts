import type { AnswerFacts, Classified } from '../shared/classification.js';
import { parseVendorError } from '../shared/error-body.js';
import { parseRetryAfter } from '../shared/retry-after.js';
import { ncpResetResponseSchema } from './schema.js';

/**
 * CDSS's own error codes and bodies are not published (UNKNOWN in cloud-apis.md), so the kind of a
 * CDSS refusal is GUESSED from the words of its message, and the error says so (`detail`):
 * - the cluster is changing ("in progress", "while changing", "being updated"...): busy, whatever
 *   else the message says: the password is not at fault;
 * - the password's value is refused ("invalid"/"weak" password, length, characters, complexity,
 *   rules, same as before...): password-rejected (a fresh password may pass);
 * - anything else, even about the password ("password reset is not supported"): bad-request.
 * The sandbox answers password errors as HTTP 400 `{"code":1001,"message":"Invalid
 * kafkaManagerUserPassword: ..."}`.
 */
const CHANGING_MESSAGE =
  /\b(in progress|changing|(being|currently) (changed|updated|modified|created|deleted|restarted|applied|reset)|another (operation|task|request|change)|is busy|not running|try again later)\b/i;
const PASSWORD_WORD = /password/i;
const PASSWORD_VALUE_REFUSED =
  /\b(invalid|weak|too (short|long|simple|common)|length|characters?|contains?|complex(ity)?|format|not allowed|forbidden|polic(y|ies)|rules?|requirements?|same as|reused?|previous(ly)?|strength|strong)\b/i;

export const GUESSED_KIND_DETAIL =
  'guessed from the vendor message text: CDSS error codes are not documented';

/** The kind a CDSS refusal message suggests, or undefined when it suggests none. */
export function kindFromNcpMessage(
  message: string | null | undefined,
): 'busy' | 'password-rejected' | undefined {
  if (!message) return undefined;
  if (CHANGING_MESSAGE.test(message)) return 'busy';
  if (PASSWORD_WORD.test(message) && PASSWORD_VALUE_REFUSED.test(message)) return 'password-rejected';
  return undefined;
}

/** The gateway's error shape, `{"error": {"errorCode", "message"}}`, as opposed to CDSS's `{code, message}`. */
function isGatewayError(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    const inner = (parsed as { error?: unknown } | null)?.error;
    return typeof inner === 'object' && inner !== null && 'errorCode' in inner;
  } catch {
    return false;
  }
}

function withVendor(a: AnswerFacts, kind: Classified['kind']): Classified {
  const v = parseVendorError(a.text);
  const out: Classified = { kind, status: a.status };
  if (v?.code !== undefined) out.vendorCode = v.code;
  if (v?.message !== undefined) out.vendorMessage = v.message;
  const requestId = v?.requestId ?? a.headers['x-request-id'];
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/**
 * Why the gateway did not know the route, carried as the error's `detail` (alerts and
 * `check-config --live` show it). The kind is `bad-request`: never retried, alerted, and certain
 * not to have reached the cluster.
 */
export const UNKNOWN_ROUTE_DETAIL =
  "config error: unknown route (gateway 404, errorCode 300): check the target's site and region " +
  '(the API path prefix), endpoint and resetApi; the path may have been retired';

/** Pure classification of a non-2xx answer from the NCP API gateway or CDSS. */
export function classifyNcpFailure(a: AnswerFacts): Classified {
  const s = a.status;
  const c = withVendor(a, 'bad-response');
  if (s === 401 || s === 403) return { ...c, kind: 'auth' };
  // The gateway's own "Not Found Exception" (errorCode 300, string or number): the request never
  // reached CDSS, so it says nothing about the cluster: a config error, not a missing cluster.
  if (s === 404 && c.vendorCode === '300' && isGatewayError(a.text))
    return { ...c, kind: 'bad-request', detail: UNKNOWN_ROUTE_DETAIL };
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
    const guessed = kindFromNcpMessage(c.vendorMessage);
    return guessed ? { ...c, kind: guessed, detail: GUESSED_KIND_DETAIL } : { ...c, kind: 'bad-request' };
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
  const guessed = String(code) !== '0' ? kindFromNcpMessage(message) : undefined;
  if (guessed) {
    out.kind = guessed;
    out.detail = GUESSED_KIND_DETAIL;
  }
  return out;
}
