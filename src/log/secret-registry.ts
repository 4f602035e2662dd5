import { REDACTED, type Scrubber, scrubErrorWith } from './scrubber.js';

/**
 * Values shorter than this are not registered: replacing a 1-3 character string would shred every
 * log line, and no credential or generated password we handle is that short (passwords are >= 8).
 */
export const MIN_SECRET_LENGTH = 4;

/**
 * The live secrets of this process, scrubbed by value from any text (log lines, error messages),
 * because a remote error body can echo what we sent. Each value is also matched in its JSON-escaped
 * form, so it is found inside an already serialised log line.
 */
export class SecretRegistry implements Scrubber {
  readonly #values = new Set<string>();
  /**
   * Every form (raw and JSON-escaped) of every value, by its first three characters (prefixKey),
   * longest first. Scrubbing looks each position of the text up here: the cost grows with the
   * text, not with the number of secrets (a worker holds one live password per rotated target,
   * and one alternation regex over thousands of them made every log line slow).
   */
  readonly #byPrefix = new Map<number, string[]>();
  /** How many values use each form (two values can share a JSON-escaped form only if equal). */
  readonly #formCount = new Map<string, number>();
  /**
   * How many forms start at each filterSlot: a position whose slot is 0 starts no form, which
   * most positions of most texts are, so they skip the Map lookup (and its 48-bit key, a heap
   * number). Allocated with the first form, unless the registry was made without a prefilter.
   */
  #filter: Uint32Array | undefined;
  readonly #prefilter: boolean;

  /**
   * `prefilter: false` for a registry of a few values that lives for one call (scrubberOf): it
   * skips the 512 KiB prefilter, which pays off only over many texts.
   */
  constructor(options: { prefilter?: boolean } = {}) {
    this.#prefilter = options.prefilter ?? true;
  }

  /** Registers a secret; returns it unchanged so calls can be chained (`registry.add(resolve(...))`). */
  add(value: string): string {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH && !this.#values.has(value)) {
      this.#values.add(value);
      for (const form of formsOf(value)) this.#addForm(form);
    }
    return value;
  }

  has(value: string): boolean {
    return this.#values.has(value);
  }

  /** Forgets a secret (e.g. a superseded password), so the registry does not grow forever. */
  delete(value: string): void {
    if (!this.#values.delete(value)) return;
    for (const form of formsOf(value)) this.#removeForm(form);
  }

  get size(): number {
    return this.#values.size;
  }

  /** `text` with every registered value (raw or JSON-escaped) replaced by [REDACTED]. */
  scrub(text: string): string {
    if (this.#values.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    const filter = this.#filter ?? passAll();
    let out: string[] | undefined;
    let copied = 0;
    const last = text.length - MIN_SECRET_LENGTH;
    for (let i = 0; i <= last;) {
      if (filter[filterSlot(text, i)] === 0) {
        i += 1;
        continue;
      }
      const candidates = this.#byPrefix.get(prefixKey(text, i));
      const hit = candidates?.find((form) => text.startsWith(form, i));
      if (hit === undefined) {
        i += 1;
        continue;
      }
      (out ??= []).push(text.slice(copied, i), REDACTED);
      i += hit.length;
      copied = i;
    }
    if (!out) return text;
    out.push(text.slice(copied));
    return out.join('');
  }

  /** `err` copied with every registered value scrubbed from it and its cause chain (see scrubErrorWith). */
  scrubError(err: unknown): unknown {
    return scrubErrorWith((text) => this.scrub(text), err);
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

  #addForm(form: string): void {
    const n = this.#formCount.get(form) ?? 0;
    this.#formCount.set(form, n + 1);
    if (n > 0) return;
    if (this.#prefilter) {
      const filter = (this.#filter ??= new Uint32Array(FILTER_SIZE));
      filter[filterSlot(form, 0)]! += 1;
    }
    const key = prefixKey(form, 0);
    const list = this.#byPrefix.get(key) ?? [];
    // Longest first, so a secret that contains another is replaced whole.
    const at = list.findIndex((f) => f.length < form.length);
    if (at < 0) list.push(form);
    else list.splice(at, 0, form);
    this.#byPrefix.set(key, list);
  }

  #removeForm(form: string): void {
    const n = this.#formCount.get(form) ?? 0;
    if (n > 1) {
      this.#formCount.set(form, n - 1);
      return;
    }
    this.#formCount.delete(form);
    if (this.#filter) this.#filter[filterSlot(form, 0)]! -= 1;
    const key = prefixKey(form, 0);
    const list = this.#byPrefix.get(key)?.filter((f) => f !== form) ?? [];
    if (list.length > 0) this.#byPrefix.set(key, list);
    else this.#byPrefix.delete(key);
  }
}

/**
 * The first three UTF-16 units at `i` as one number (48 bits, exact in a double): a Map lookup by
 * number, without the substring `slice` would allocate at every position of every scrubbed text.
 * Three units rather than MIN_SECRET_LENGTH (4): four would not fit; the candidates of a key are
 * confirmed with startsWith anyway.
 */
function prefixKey(text: string, i: number): number {
  return text.charCodeAt(i) * 4294967296 + text.charCodeAt(i + 1) * 65536 + text.charCodeAt(i + 2);
}

/** Slots of the prefilter (2^17 counters, 512 KiB per registry that holds a secret). */
const FILTER_SIZE = 1 << 17;

let passAllFilter: Uint32Array | undefined;

/**
 * The prefilter of a registry made without one: every slot may start a form. One per process,
 * shared, so scrubberOf's registries allocate nothing and scrub() keeps a single, branch-free loop.
 */
function passAll(): Uint32Array {
  return (passAllFilter ??= new Uint32Array(FILTER_SIZE).fill(1));
}

/** The prefilter slot of the three UTF-16 units at `i`: a small integer, no allocation. */
function filterSlot(text: string, i: number): number {
  return (
    ((text.charCodeAt(i) << 10) ^ (text.charCodeAt(i + 1) << 5) ^ text.charCodeAt(i + 2)) & (FILTER_SIZE - 1)
  );
}

/** The value as it appears raw, and inside a JSON string (quotes, backslashes, controls escaped). */
function formsOf(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped === value ? [value] : [value, escaped];
}

/** The registry of this process: the logger scrubs it by default. */
export const processSecrets = new SecretRegistry();

/**
 * A Scrubber of a call's own known secrets (the password sent to a cloud or a store, the passwords
 * a rotation handled), with the registry's rules: values of MIN_SECRET_LENGTH or more, raw and
 * JSON-escaped, longest first. A snapshot: values added to `values` later are not seen.
 */
export function scrubberOf(values: Iterable<string>): Scrubber {
  const registry = new SecretRegistry({ prefilter: false });
  for (const value of values) registry.add(value);
  return registry;
}

/**
 * The passwords a worker registers per target, by rotation run: what a target's current run and its
 * run before registered stay registered; older values are let go. Every run registers what it reads
 * (current, previous, pending, earlier generations) and what it generates, so the live values are
 * always in the current run; without this, superseded ones stayed in the registry for the life of
 * the process. A value this tracker did not add (a credential registered elsewhere) is never removed
 * by it.
 */
export class TargetSecrets {
  readonly #runs = new Map<string, { current: Set<string>; previous: Set<string> }>();
  /** Values added through this tracker, with how many run sets hold each. */
  readonly #owned = new Map<string, number>();

  constructor(private readonly registry: SecretRegistry) {}

  /** Starts a run of `targetId`; returns the function that registers the run's values. */
  startRun(targetId: string): (value: string) => void {
    const runs = this.#runs.get(targetId) ?? { current: new Set<string>(), previous: new Set<string>() };
    for (const value of runs.previous) this.#release(value);
    const run = { current: new Set<string>(), previous: runs.current };
    this.#runs.set(targetId, run);
    return (value) => {
      if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || run.current.has(value)) return;
      // a later run of the target has started: this one's values are no longer tracked
      if (this.#runs.get(targetId) !== run) {
        this.registry.add(value);
        return;
      }
      run.current.add(value);
      const owners = this.#owned.get(value);
      if (owners !== undefined) this.#owned.set(value, owners + 1);
      else if (!this.registry.has(value)) {
        this.#owned.set(value, 1);
        this.registry.add(value);
      }
    };
  }

  #release(value: string): void {
    const owners = this.#owned.get(value);
    if (owners === undefined) return;
    if (owners > 1) this.#owned.set(value, owners - 1);
    else {
      this.#owned.delete(value);
      this.registry.delete(value);
    }
  }
}
