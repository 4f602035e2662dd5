import { ProviderError, isProviderError } from '../providers/errors.js';

export const REDACTED = '[REDACTED]';

/** Replaces every occurrence of each secret in `text`. Longest first, so a secret inside another goes too. */
export function scrubText(text: string, secrets: Iterable<string>): string {
  let out = text;
  const sorted = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of sorted) out = out.split(s).join(REDACTED);
  return out;
}

const MAX_CAUSE_DEPTH = 5;

/**
 * A copy of `err` and its `cause` chain with every secret replaced, safe to keep as a RotationError's
 * cause. A remote error body can echo the password that was sent, so ProviderError.vendorMessage is
 * scrubbed too. Non-Error causes become their scrubbed string form; the chain is cut after a few levels.
 */
export function scrubError(err: unknown, secrets: readonly string[], depth = 0): unknown {
  if (err === undefined || err === null) return err;
  if (depth >= MAX_CAUSE_DEPTH) return new Error('(cause chain truncated)');
  const nested = (e: unknown) =>
    e instanceof Error && e.cause !== undefined ? scrubError(e.cause, secrets, depth + 1) : undefined;
  if (isProviderError(err)) {
    return new ProviderError({
      kind: err.kind,
      provider: err.provider,
      operation: err.operation,
      status: err.status,
      vendorCode: err.vendorCode === undefined ? undefined : scrubText(err.vendorCode, secrets),
      vendorMessage: err.vendorMessage === undefined ? undefined : scrubText(err.vendorMessage, secrets),
      requestId: err.requestId,
      retryAfterMs: err.retryAfterMs,
      detail: err.detail === undefined ? undefined : scrubText(err.detail, secrets),
      cause: nested(err),
    });
  }
  if (err instanceof Error) {
    const cause = nested(err);
    const copy = new Error(scrubText(err.message, secrets), cause === undefined ? undefined : { cause });
    copy.name = err.name;
    if (err.stack !== undefined) copy.stack = scrubText(err.stack, secrets);
    // Keep a store error's kind: the caller classifies by it.
    const kind = (err as { kind?: unknown }).kind;
    if (typeof kind === 'string') Object.assign(copy, { kind });
    return copy;
  }
  return scrubText(typeof err === 'string' ? err : safeString(err), secrets);
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
