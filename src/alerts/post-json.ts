import { AlertSinkError, isRetryableStatus } from './sink-error.js';

export interface PostJsonOptions {
  fetch: typeof globalThis.fetch;
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Safe to log: e.g. `webhook https://alerts.example.com` (origin only). */
  label: string;
}

/** Why a fetch failed, from its error code only: undici's messages can carry the address. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = cause && typeof cause.code === 'string' ? cause.code : undefined;
  return code ?? 'network error';
}

/** POSTs a JSON body; throws AlertSinkError on a network error, a timeout or a non-2xx answer. */
export async function postJson(opts: PostJsonOptions): Promise<void> {
  let res: Response;
  try {
    res = await opts.fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'secret-rotator', ...opts.headers },
      body: opts.body,
      // A redirect would re-send the alert to a place nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new AlertSinkError(`${opts.label}: POST failed: ${describeFetchError(err, opts.timeoutMs)}`, true);
  }
  // Drain the body so the connection can be reused; its content is not needed (and may echo input).
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) {
    const retryable = isRetryableStatus(res.status);
    const why = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : '';
    throw new AlertSinkError(`${opts.label}: answered HTTP ${res.status}${why}`, retryable, res.status);
  }
}

/** `https://host:port` of a URL: the only part of an alert URL that is ever logged. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
