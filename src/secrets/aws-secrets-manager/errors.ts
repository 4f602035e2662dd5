import { scrubberOf } from '../../log/secret-registry.js';
import { SecretStoreError, type SecretStoreErrorKind } from '../types.js';

const KIND_BY_CODE: Record<string, SecretStoreErrorKind> = {
  ResourceNotFoundException: 'not-found',
  ResourceExistsException: 'conflict',
  PreconditionNotMetException: 'conflict',
  InvalidParameterException: 'invalid',
  InvalidRequestException: 'invalid',
  InvalidNextTokenException: 'invalid',
  ValidationException: 'invalid',
  LimitExceededException: 'invalid',
  MalformedPolicyDocumentException: 'invalid',
  AccessDeniedException: 'invalid',
  UnrecognizedClientException: 'invalid',
  InvalidSignatureException: 'invalid',
  IncompleteSignatureException: 'invalid',
  ExpiredTokenException: 'invalid',
  CredentialsProviderError: 'invalid',
  ThrottlingException: 'throttled',
  Throttling: 'throttled',
  TooManyRequestsException: 'throttled',
  RequestLimitExceeded: 'throttled',
  InternalServiceError: 'unavailable',
  InternalFailure: 'unavailable',
  ServiceUnavailable: 'unavailable',
  DecryptionFailure: 'unavailable',
  EncryptionFailure: 'unavailable',
  TimeoutError: 'unavailable',
};

interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export interface ErrorContext {
  operation: string;
  secretId: string;
  versionId?: string | undefined;
  /** Strings that must not appear in the result (the value being written). */
  secrets?: readonly string[];
}

/** The SecretStoreErrorKind for an SDK (or network) error. */
export function classifySdkError(err: unknown): SecretStoreErrorKind {
  const e = (err ?? {}) as SdkErrorLike;
  const byName = e.name ? KIND_BY_CODE[e.name] : undefined;
  if (byName) return byName;
  const status = e.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'unavailable';
  if (e.$fault === 'client' && status !== undefined) return 'invalid';
  // Network errors (ECONNREFUSED, ECONNRESET, timeouts) have no HTTP status.
  return 'unavailable';
}

/**
 * Turns an SDK error into a SecretStoreError naming the operation, the secret and the version.
 * The service's message is kept (scrubbed of the value sent) and the cause is a plain copy of the
 * SDK error with only its name and scrubbed message, so no request data travels along.
 */
export function toStoreError(err: unknown, ctx: ErrorContext): SecretStoreError {
  if (err instanceof SecretStoreError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const kind = classifySdkError(err);
  const code = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'Error');
  const remote = scrubberOf(ctx.secrets ?? [])
    .scrub(String(e.message ?? ''))
    .slice(0, 300);
  const where = ctx.versionId ? `secret ${ctx.secretId} version ${ctx.versionId}` : `secret ${ctx.secretId}`;
  const status = e.$metadata?.httpStatusCode;
  const message = `${ctx.operation} on ${where} failed: ${code}${status ? ` (HTTP ${status})` : ''}${remote ? `: ${remote}` : ''}`;
  const cause = new Error(remote);
  cause.name = code;
  return new SecretStoreError(kind, message, {
    cause,
    secretId: ctx.secretId,
    versionId: ctx.versionId,
    code,
    requestId: e.$metadata?.requestId,
  });
}

/**
 * A throttle, after the SDK's own attempts: ThrottlingException and its kin, HTTP 429, or AWS's
 * "Rate exceeded" under another name.
 */
export function isThrottleError(err: unknown): boolean {
  if (classifySdkError(err) === 'throttled') return true;
  const e = (err ?? {}) as SdkErrorLike;
  return e.$metadata?.httpStatusCode === 400 && /rate exceeded/i.test(String(e.message ?? ''));
}

export function isCode(err: unknown, code: string): boolean {
  return (err as SdkErrorLike | undefined)?.name === code;
}
