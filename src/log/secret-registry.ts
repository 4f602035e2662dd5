/** Replacement for a secret found by value. */
export const SCRUBBED = '[REDACTED]';

/**
 * Values shorter than this are not registered: replacing a 1-3 character string would shred every
 * log line, and no credential or generated password we handle is that short (passwords are >= 8).
 */
export const MIN_SECRET_LENGTH = 4;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The live secrets of this process, scrubbed by value from any text (log lines, error messages),
 * because a remote error body can echo what we sent. Each value is also matched in its JSON-escaped
 * form, so it is found inside an already serialised log line.
 */
export class SecretRegistry {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  /** Registers a secret; returns it unchanged so calls can be chained (`registry.add(resolve(...))`). */
  add(value: string): string {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH && !this.#values.has(value)) {
      this.#values.add(value);
      this.#pattern = undefined;
    }
    return value;
  }

  has(value: string): boolean {
    return this.#values.has(value);
  }

  /** Forgets a secret (e.g. a superseded password), so the registry does not grow forever. */
  delete(value: string): void {
    if (this.#values.delete(value)) this.#pattern = undefined;
  }

  get size(): number {
    return this.#values.size;
  }

  /** `text` with every registered value (raw or JSON-escaped) replaced by [REDACTED]. */
  scrub(text: string): string {
    if (this.#values.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    this.#pattern ??= this.#build();
    return text.replace(this.#pattern, SCRUBBED);
  }

  /** A deep copy of `value` with every string scrubbed (for objects that are not logged as text). */
  scrubDeep<T>(value: T): T {
    return this.#scrubValue(value, new WeakSet()) as T;
  }

  #scrubValue(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => this.#scrubValue(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.#scrubValue(v, seen);
    return out;
  }

  #build(): RegExp {
    const forms = new Set<string>();
    for (const v of this.#values) {
      forms.add(v);
      forms.add(JSON.stringify(v).slice(1, -1));
    }
    // Longest first, so a secret that contains another is replaced whole.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    return new RegExp(alternatives.join('|'), 'g');
  }
}

/** The registry of this process: the logger scrubs it by default. */
export const processSecrets = new SecretRegistry();
