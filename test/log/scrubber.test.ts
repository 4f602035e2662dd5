import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED as INDEX_REDACTED } from '../../src/log/index.js';
import { redactSensitiveKeys } from '../../src/log/redact.js';
import { REDACTED, type Scrubber, type ScrubbableError } from '../../src/log/scrubber.js';
import { MIN_SECRET_LENGTH, SecretRegistry, scrubberOf } from '../../src/log/secret-registry.js';

/**
 * Characters secrets are drawn from: a quote, a backslash and controls (their JSON-escaped form
 * differs), non-ASCII, and a few letters so values overlap and nest. None is a character of
 * "[REDACTED]", so a value cannot be rebuilt from a replacement and its neighbours.
 */
const unit = fc.constantFrom('a', 'b', 'c', 'x', '-', '"', '\\', '\n', '\u0001', '\u00e9', '\u4e2d');
const value = fc.string({ unit, minLength: 1, maxLength: 9 });
const jsonForm = (v: string) => JSON.stringify(v).slice(1, -1);

/** A text made of values, their JSON-escaped forms and other runs of the same characters. */
const textOf = (values: string[]) =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...values, ''),
        fc.constantFrom(...values, '').map(jsonForm),
        fc.string({ unit, maxLength: 6 }),
      ),
      { maxLength: 10 },
    )
    .map((parts) => parts.join(''));

const scrubbers: [string, (values: string[]) => Scrubber][] = [
  ['scrubberOf', (values) => scrubberOf(values)],
  [
    'SecretRegistry',
    (values) => {
      const r = new SecretRegistry();
      for (const v of values) r.add(v);
      return r;
    },
  ],
];

describe.each(scrubbers)('%s.scrub', (_name, make) => {
  it('never leaves a registered value, raw or JSON-escaped, in its output', () => {
    fc.assert(
      fc.property(
        fc
          .array(value, { minLength: 1, maxLength: 6 })
          .chain((values) => fc.tuple(fc.constant(values), textOf(values))),
        ([values, text]) => {
          const scrubber = make(values);
          for (const input of [text, JSON.stringify({ text })]) {
            const out = scrubber.scrub(input);
            for (const v of values) {
              if (v.length < MIN_SECRET_LENGTH) continue;
              expect(out).not.toContain(v);
              expect(out).not.toContain(jsonForm(v));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('leaves values shorter than MIN_SECRET_LENGTH, and text without values, as they are', () => {
    const scrubber = make(['abc', 'a"b', 'pass-word']);
    expect(scrubber.scrub('abc a"b a\\"b')).toBe('abc a"b a\\"b');
    expect(scrubber.scrub('nothing here')).toBe('nothing here');
    expect(scrubber.scrub('x pass-word y')).toBe(`x ${REDACTED} y`);
  });
});

describe('scrubberOf', () => {
  it('scrubs exactly as a SecretRegistry holding the same values (one set of rules)', () => {
    fc.assert(
      fc.property(
        fc
          .array(value, { maxLength: 6 })
          .chain((values) => fc.tuple(fc.constant(values), textOf([...values, 'x']))),
        ([values, text]) => {
          const registry = new SecretRegistry();
          for (const v of values) registry.add(v);
          expect(scrubberOf(values).scrub(text)).toBe(registry.scrub(text));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('is a snapshot of the values it was given', () => {
    const values = ['first-secret'];
    const scrubber = scrubberOf(values);
    values.push('second-secret');
    expect(scrubber.scrub('first-secret second-secret')).toBe(`${REDACTED} second-secret`);
  });
});

describe('Scrubber.scrubError', () => {
  const PW = 'Pw-"quoted"-9';
  const scrubber = scrubberOf([PW]);

  it('copies an Error with its name, scrubbed message and stack, and a string kind only', () => {
    const err = Object.assign(new Error(`refused ${PW}`), {
      kind: 'invalid',
      secretId: 'db/main',
      extra: { PW },
    });
    err.name = 'SecretStoreError';
    const copy = scrubber.scrubError(err) as Error & Record<string, unknown>;
    expect(copy).toBeInstanceOf(Error);
    expect(copy).not.toBe(err);
    expect(copy.name).toBe('SecretStoreError');
    expect(copy.message).toBe(`refused ${REDACTED}`);
    expect(copy.stack).not.toContain(PW);
    expect(copy.kind).toBe('invalid');
    expect(copy.secretId).toBeUndefined();
    expect(copy.extra).toBeUndefined();
    expect((scrubber.scrubError(Object.assign(new Error('x'), { kind: 3 })) as { kind?: unknown }).kind).toBe(
      undefined,
    );
  });

  it('scrubs the JSON-escaped form inside a message', () => {
    const copy = scrubber.scrubError(new Error(`body ${JSON.stringify({ password: PW })}`)) as Error;
    expect(copy.message).toBe(`body {"password":"${REDACTED}"}`);
  });

  it('keeps undefined and null, and turns anything else into its scrubbed string', () => {
    expect(scrubber.scrubError(undefined)).toBeUndefined();
    expect(scrubber.scrubError(null)).toBeNull();
    expect(scrubber.scrubError(`said ${PW}`)).toBe(`said ${REDACTED}`);
    expect(scrubber.scrubError(42)).toBe('42');
    const circular: Record<string, unknown> = { pw: PW };
    circular.self = circular;
    expect(scrubber.scrubError(circular)).toBe('[object Object]');
  });

  it('copies five levels of a cause chain and ends it with a truncation error', () => {
    let err: Error = new Error(`level 0 ${PW}`);
    for (let i = 1; i < 8; i++) err = new Error(`level ${i} ${PW}`, { cause: err });
    const messages: string[] = [];
    for (let e: unknown = scrubber.scrubError(err); e instanceof Error; e = e.cause) messages.push(e.message);
    expect(messages).toEqual([
      `level 7 ${REDACTED}`,
      `level 6 ${REDACTED}`,
      `level 5 ${REDACTED}`,
      `level 4 ${REDACTED}`,
      `level 3 ${REDACTED}`,
      '(cause chain truncated)',
    ]);
  });

  it('lets a ScrubbableError copy itself, with its cause already scrubbed', () => {
    class VendorError extends Error implements ScrubbableError {
      constructor(
        readonly vendorText: string,
        options?: ErrorOptions,
      ) {
        super('vendor failed', options);
        this.name = 'VendorError';
      }
      copyScrubbed(scrub: (text: string) => string, cause: unknown): VendorError {
        return new VendorError(scrub(this.vendorText), cause === undefined ? undefined : { cause });
      }
    }
    const copy = scrubber.scrubError(new VendorError(`echo ${PW}`, { cause: new Error(`inner ${PW}`) }));
    expect(copy).toBeInstanceOf(VendorError);
    expect((copy as VendorError).vendorText).toBe(`echo ${REDACTED}`);
    expect(((copy as VendorError).cause as Error).message).toBe(`inner ${REDACTED}`);
  });

  it('never leaves a registered value in a copied cause chain', () => {
    fc.assert(
      fc.property(
        fc
          .array(value, { minLength: 1, maxLength: 4 })
          .chain((values) =>
            fc.tuple(fc.constant(values), fc.array(textOf(values), { minLength: 1, maxLength: 7 })),
          ),
        ([values, messages]) => {
          let err: unknown = undefined;
          for (const m of messages) err = new Error(m, err === undefined ? undefined : { cause: err });
          const texts: string[] = [];
          for (let e = scrubberOf(values).scrubError(err); e instanceof Error; e = e.cause) {
            texts.push(e.message, e.stack ?? '');
          }
          for (const v of values) {
            if (v.length < MIN_SECRET_LENGTH) continue;
            for (const t of texts) expect(t).not.toContain(v);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('REDACTED', () => {
  it('is the one replacement: for values found in a text and for sensitive fields', () => {
    expect(REDACTED).toBe('[REDACTED]');
    expect(INDEX_REDACTED).toBe(REDACTED);
    expect(redactSensitiveKeys({ password: 'x' })).toEqual({ password: REDACTED });
    expect(scrubberOf(['secret-value']).scrub('secret-value')).toBe(REDACTED);
  });
});
