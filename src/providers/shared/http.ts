import { ProviderError, type ProviderErrorDetails } from '../errors.js';
import type { ProviderId } from '../../config/provider-ids.js';
import { deadline } from '../../util/deadline.js';
import type { CallOptions, ProviderDeps } from '../types.js';

export interface HttpCall {
  provider: ProviderId;
  operation: 'reset' | 'status';
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** The exact bytes that were signed. */
  body?: Uint8Array;
}

/** A received answer, headers lower-cased. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number, callerAborted: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  if (callerAborted) return 'aborted by the caller';
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code ? `connection failed (${code})` : 'connection failed';
}

/**
 * One HTTP exchange with a timeout and the caller's signal. A failure to get a complete answer is
 * `unknown-outcome`: the request may have reached the cloud. The message says what happened on our
 * side only; the request body (the password) is never part of it.
 */
export async function send(call: HttpCall, deps: ProviderDeps, opts: CallOptions = {}): Promise<HttpAnswer> {
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? deps.timeoutMs;
  const limit = deadline(timeoutMs, opts.signal);
  try {
    const res = await deps.fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal: limit.signal,
      redirect: 'manual',
    });
    const text = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    return { status: res.status, headers, text };
  } catch (err) {
    const callerAborted = opts.signal?.aborted === true;
    const details: ProviderErrorDetails = {
      kind: 'unknown-outcome',
      provider: call.provider,
      operation: call.operation,
      detail: describeFailure(err, limit.signal.aborted && !callerAborted, timeoutMs, callerAborted),
      cause: err,
    };
    throw new ProviderError(details);
  } finally {
    limit.dispose();
  }
}
