/**
 * A sink could not deliver an alert. The message is built by the sink from safe parts only
 * (sink name, origin, HTTP status, error code): never the URL's path or query, never a key.
 */
export class AlertSinkError extends Error {
  override name = 'AlertSinkError';
  constructor(
    message: string,
    /** False when trying again cannot help (e.g. 404 for a revoked Slack webhook). */
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 408, 425, 429 and 5xx may pass on a later try; any other status will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
