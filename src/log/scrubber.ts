/** What a secret is replaced with: a value found in a text, or a sensitive field of a log line. */
export const REDACTED = '[REDACTED]';

/**
 * Removes known secrets from what leaves the process (log lines, errors, alerts, job data).
 * Implemented by SecretRegistry (the process's live secrets) and by scrubberOf (one call's own).
 */
export interface Scrubber {
  /** `text` with every known secret, raw or JSON-escaped, replaced by {@link REDACTED}. */
  scrub(text: string): string;
  /**
   * A copy of `err` safe to keep, log or store, per {@link scrubErrorWith}: an Error becomes a
   * scrubbed Error with a scrubbed cause chain, anything else its scrubbed string form.
   */
  scrubError(err: unknown): unknown;
}

/**
 * An error whose own fields can carry a remote text (ProviderError: a vendor message can echo the
 * request) copies itself with those fields scrubbed, so the copy keeps its class and its fields.
 */
export interface ScrubbableError extends Error {
  /** A copy with every text field passed through `scrub` and `cause` as its cause. */
  copyScrubbed(scrub: (text: string) => string, cause: unknown): Error;
}

/** Cause levels copied; a longer chain ends in a "(cause chain truncated)" error. */
const MAX_CAUSE_DEPTH = 5;

/**
 * A copy of `err` and its `cause` chain with every text passed through `scrub`:
 * - undefined and null stay as they are;
 * - a {@link ScrubbableError} copies itself (its class and fields kept);
 * - another Error becomes a plain Error with its name, scrubbed message and stack, and its `kind`
 *   if that is a string (a store error's kind: callers classify by it); other fields are dropped;
 * - anything else becomes its scrubbed string (JSON where it serialises);
 * - past {@link MAX_CAUSE_DEPTH} levels the chain ends in an Error "(cause chain truncated)".
 */
export function scrubErrorWith(scrub: (text: string) => string, err: unknown, depth = 0): unknown {
  if (err === undefined || err === null) return err;
  if (depth >= MAX_CAUSE_DEPTH) return new Error('(cause chain truncated)');
  if (!(err instanceof Error)) return scrub(typeof err === 'string' ? err : safeString(err));
  const cause = err.cause === undefined ? undefined : scrubErrorWith(scrub, err.cause, depth + 1);
  if (isScrubbable(err)) return err.copyScrubbed(scrub, cause);
  const copy = new Error(scrub(err.message), cause === undefined ? undefined : { cause });
  copy.name = err.name;
  if (err.stack !== undefined) copy.stack = scrub(err.stack);
  const kind = (err as { kind?: unknown }).kind;
  if (typeof kind === 'string') Object.assign(copy, { kind });
  return copy;
}

function isScrubbable(err: Error): err is ScrubbableError {
  return typeof (err as Partial<ScrubbableError>).copyScrubbed === 'function';
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
