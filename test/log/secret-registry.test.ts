import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED as SCRUBBED } from '../../src/log/scrubber.js';
import { MIN_SECRET_LENGTH, SecretRegistry, TargetSecrets } from '../../src/log/secret-registry.js';

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

  it('after deletions, replaces exactly what the reference does for the values left', () => {
    const ch = fc.constantFrom('a', 'b', 'c', '"', '\\', 'x', '\u00e9', '\u4e2d');
    const secret = fc.string({ unit: ch, minLength: 4, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(secret, fc.boolean()), { maxLength: 10 }),
        fc.array(fc.oneof(secret, fc.string()), { maxLength: 8 }),
        (entries, parts) => {
          const r = new SecretRegistry();
          for (const [s] of entries) r.add(s);
          for (const [s, drop] of entries) if (drop) r.delete(s);
          const kept = entries.filter(([s]) => !entries.some(([t, drop]) => t === s && drop)).map(([s]) => s);
          const text = parts.join('');
          expect(r.scrub(text)).toBe(reference(kept, text));
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

describe('TargetSecrets: what a target’s current and previous runs registered stays registered', () => {
  it('keeps every value of a run, however many passwords the cloud rejected in it', () => {
    const registry = new SecretRegistry();
    const t = new TargetSecrets(registry);
    const register = t.startRun('a');
    register('pw-current');
    register('pw-previous');
    const generated = Array.from({ length: 20 }, (_, i) => `pw-generated-${i}`);
    for (const g of generated) register(g);
    for (const v of ['pw-current', 'pw-previous', ...generated]) expect(registry.has(v)).toBe(true);
    expect(registry.scrub('login pw-current')).toBe('login [REDACTED]');
  });

  it('lets a value go two runs after the last run that registered it', () => {
    const registry = new SecretRegistry();
    const t = new TargetSecrets(registry);
    let register = t.startRun('a');
    register('pw-old-current');
    register('pw-new-one');
    register = t.startRun('a'); // next rotation: reads the new current, generates another
    register('pw-new-one');
    register('pw-newer-two');
    expect(registry.has('pw-old-current')).toBe(true); // the previous run's values stay
    register = t.startRun('a');
    register('pw-newer-two');
    expect(registry.has('pw-old-current')).toBe(false);
    expect(registry.has('pw-new-one')).toBe(true);
    expect(registry.has('pw-newer-two')).toBe(true);
    expect(registry.scrub('x pw-old-current')).toBe('x pw-old-current');
  });

  it('never removes a value it did not add, nor one another target still holds', () => {
    const registry = new SecretRegistry();
    registry.add('credential-secret');
    const t = new TargetSecrets(registry);
    t.startRun('a')('credential-secret');
    t.startRun('a')('pw-shared-1');
    t.startRun('b')('pw-shared-1');
    t.startRun('a');
    t.startRun('a');
    expect(registry.has('credential-secret')).toBe(true);
    expect(registry.has('pw-shared-1')).toBe(true); // b still holds it
    t.startRun('b');
    t.startRun('b');
    expect(registry.has('pw-shared-1')).toBe(false);
  });

  it('stays bounded over many rotations of many targets', () => {
    const registry = new SecretRegistry();
    const t = new TargetSecrets(registry);
    for (let round = 0; round < 50; round++) {
      for (let target = 0; target < 20; target++) {
        const register = t.startRun(`t${target}`);
        if (round > 0) register(`pw-${target}-${round - 1}`); // the current one, read back
        register(`pw-${target}-${round}`);
      }
    }
    // each target: its last run's two values and the run before's (one of which is shared)
    expect(registry.size).toBe(20 * 3);
    expect(registry.has('pw-7-49')).toBe(true);
    expect(registry.has('pw-7-46')).toBe(false);
  });
});
