import type { ScrubbableError } from '../log/scrubber.js';
import type { ProviderId } from '../config/provider-ids.js';

/**
 * What went wrong with a call to a cloud, as far as the retry logic cares.
 * - busy: 409 (or a 2xx carrying CSS.0011), another operation runs on the cluster (CSS.0011/6013/0077);
 *   retry later.
 * - throttled: 429; retry after Retry-After.
 * - unknown-outcome: timeout, reset connection, 5xx after sending: the cloud may have applied it.
 * - password-rejected: 400 for the password itself; a fresh password may pass.
 * - precondition: 412; needs a human.
 * - auth: 401/403; needs a human.
 * - not-found: the cluster does not exist.
 * - bad-request: any other 4xx; also a route the gateway does not know (NCP 404 with errorCode 300:
 *   wrong site or region prefix, or a retired path), a config error that `detail` names as such.
 * - bad-response: a body we cannot parse, or a success status with a failure body we cannot place.
 */
export const ERROR_KINDS = [
  'busy',
  'throttled',
  'unknown-outcome',
  'password-rejected',
  'precondition',
  'auth',
  'not-found',
  'bad-request',
  'bad-response',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export type ProviderOperation = 'reset' | 'status';

export interface ProviderErrorDetails {
  kind: ErrorKind;
  provider: ProviderId;
  operation: ProviderOperation;
  status?: number | undefined;
  vendorCode?: string | undefined;
  vendorMessage?: string | undefined;
  requestId?: string | undefined;
  /** From Retry-After, in milliseconds. */
  retryAfterMs?: number | undefined;
  /** What happened on our side when there is no vendor answer (timeout, connection reset...). */
  detail?: string | undefined;
  cause?: unknown;
}

/**
 * The one error type providers throw. Its message is built from the fields above and never from
 * the request body: the body holds the password. Vendor messages are scrubbed by the caller's
 * redactor before they are logged, because a remote error can echo what was sent.
 */
export class ProviderError extends Error implements ScrubbableError {
  override name = 'ProviderError' as const;
  readonly kind: ErrorKind;
  readonly provider: ProviderId;
  readonly operation: ProviderOperation;
  readonly status: number | undefined;
  readonly vendorCode: string | undefined;
  readonly vendorMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly detail: string | undefined;

  constructor(d: ProviderErrorDetails) {
    const parts = [`${d.provider} ${d.operation} failed: ${d.kind}`];
    if (d.status !== undefined) parts.push(`HTTP ${d.status}`);
    if (d.vendorCode) parts.push(`code ${d.vendorCode}`);
    if (d.vendorMessage) parts.push(`"${d.vendorMessage.slice(0, 200)}"`);
    if (d.requestId) parts.push(`request ${d.requestId}`);
    if (d.detail) parts.push(d.detail);
    super(parts.join(', '), d.cause === undefined ? undefined : { cause: d.cause });
    this.kind = d.kind;
    this.provider = d.provider;
    this.operation = d.operation;
    this.status = d.status;
    this.vendorCode = d.vendorCode;
    this.vendorMessage = d.vendorMessage;
    this.requestId = d.requestId;
    this.retryAfterMs = d.retryAfterMs;
    this.detail = d.detail;
  }

  /** A copy with the vendor's texts and our detail scrubbed, for Scrubber.scrubError. */
  copyScrubbed(scrub: (text: string) => string, cause: unknown): ProviderError {
    return new ProviderError({
      kind: this.kind,
      provider: this.provider,
      operation: this.operation,
      status: this.status,
      vendorCode: this.vendorCode === undefined ? undefined : scrub(this.vendorCode),
      vendorMessage: this.vendorMessage === undefined ? undefined : scrub(this.vendorMessage),
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      detail: this.detail === undefined ? undefined : scrub(this.detail),
      cause,
    });
  }

  /** Plain fields for logs, job data and audit records (no secrets by construction). */
  toJSON(): Omit<ProviderErrorDetails, 'cause'> & { message: string } {
    return {
      message: this.message,
      kind: this.kind,
      provider: this.provider,
      operation: this.operation,
      status: this.status,
      vendorCode: this.vendorCode,
      vendorMessage: this.vendorMessage,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      detail: this.detail,
    };
  }
}

/** Works across process boundaries (sandboxed processors), where instanceof does not. */
export function isProviderError(err: unknown): err is ProviderError {
  return (
    err instanceof ProviderError || (err instanceof Error && err.name === 'ProviderError' && 'kind' in err)
  );
}
