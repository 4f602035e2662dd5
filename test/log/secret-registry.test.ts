import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, SCRUBBED, SecretRegistry, TargetSecrets } from '../../src/log/secret-registry.js';

/** The registry's former matcher: one alternation regex, longest first, over raw and JSON-escaped forms. */
function reference(values: readonly string[], text: string): string {
  const forms = new Set<string>();
  for (const v of values) {
    if (v.length < MIN_SECRET_LENGTH) continue;
    forms.add(v);
    forms.add(JSON.stringify(v).slice(1, -1));
  }
  if (forms.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(esc)
      .join('|'),
    'g',
  );
  return text.replace(re, SCRUBBED);
}

describe('SecretRegistry.scrub', () => {
  it('replaces exactly what one longest-first alternation regex replaced', () => {
    // A small alphabet with a quote and a backslash, so secrets overlap, nest and need escaping.
    const ch = fc.constantFrom('a', 'b', 'c', '"', '\\', 'x');
    const secret = fc.string({ unit: ch, minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(secret, { maxLength: 6 }),
        fc.array(fc.oneof(secret, fc.string()), { maxLength: 8 }),
        (secrets, parts) => {
          const r = new SecretRegistry();
          for (const s of secrets) r.add(s);
          const text = parts.join('');
          expect(r.scrub(text)).toBe(reference(secrets, text));
          expect(r.scrub(JSON.stringify({ text }))).toBe(reference(secrets, JSON.stringify({ text })));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('forgets a deleted value but keeps one that shares its escaped form or prefix', () => {
    const r = new SecretRegistry();
    r.add('abcd-one');
    r.add('abcd-one-longer');
    r.add('q"uote');
    expect(r.scrub('x abcd-one-longer y abcd-one z')).toBe(`x ${SCRUBBED} y ${SCRUBBED} z`);
    r.delete('abcd-one-longer');
    expect(r.scrub('x abcd-one-longer y')).toBe(`x ${SCRUBBED}-longer y`);
    expect(r.scrub(JSON.stringify({ p: 'q"uote' }))).toBe(`{"p":"${SCRUBBED}"}`);
    r.delete('q"uote');
    r.delete('abcd-one');
    expect(r.size).toBe(0);
    expect(r.scrub('abcd-one q"uote')).toBe('abcd-one q"uote');
  });

  it('finds every one of 20,000 registered passwords in log lines', () => {
    const r = new SecretRegistry();
    const passwords = Array.from(
      { length: 20_000 },
      (_, i) => `Pw-${i.toString(36)}-${(i * 7919).toString(36)}!`,
    );
    for (const p of passwords) r.add(p);
    for (const i of [0, 1, 9_999, 19_999]) {
      const line = JSON.stringify({ msg: 'step', detail: `password ${passwords[i]} rejected`, n: i });
      expect(r.scrub(line)).not.toContain(passwords[i]);
      expect(r.scrub(line)).toContain(SCRUBBED);
    }
    expect(r.scrub('{"msg":"nothing secret here"}')).toBe('{"msg":"nothing secret here"}');
  });
});

describe('TargetSecrets: each target keeps its latest passwords registered', () => {
  it('forgets a target’s oldest value past the limit, and keeps re-registered ones', () => {
    const registry = new SecretRegistry();
    const t = new TargetSecrets(registry, 3);
    for (const v of ['pw-one-1', 'pw-two-2', 'pw-three-3']) t.add('a', v);
    t.add('a', 'pw-one-1'); // read again (current): becomes the latest
    t.add('a', 'pw-four-4');
    expect(registry.has('pw-two-2')).toBe(false);
    expect(['pw-one-1', 'pw-three-3', 'pw-four-4'].every((v) => registry.has(v))).toBe(true);
    expect(registry.scrub('x pw-two-2 pw-one-1')).toBe('x pw-two-2 [REDACTED]');
    expect(registry.size).toBe(3);
  });

  it('never removes a value it did not add, nor one another target still holds', () => {
    const registry = new SecretRegistry();
    registry.add('credential-secret');
    const t = new TargetSecrets(registry, 1);
    t.add('a', 'credential-secret');
    t.add('a', 'pw-shared-1');
    t.add('b', 'pw-shared-1');
    t.add('a', 'pw-next-2');
    expect(registry.has('credential-secret')).toBe(true);
    expect(registry.has('pw-shared-1')).toBe(true); // b still holds it
    t.add('b', 'pw-next-3');
    expect(registry.has('pw-shared-1')).toBe(false);
  });

  it('stays bounded over many rotations of many targets', () => {
    const registry = new SecretRegistry();
    const t = new TargetSecrets(registry, 4);
    for (let round = 0; round < 50; round++) {
      for (let target = 0; target < 20; target++) t.add(`t${target}`, `pw-${target}-${round}`);
    }
    expect(registry.size).toBe(20 * 4);
    expect(registry.has('pw-7-49')).toBe(true);
    expect(registry.has('pw-7-45')).toBe(false);
  });
});
