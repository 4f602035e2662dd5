import fc from 'fast-check';
import { generate } from 'generate-password';
import { describe, expect, it } from 'vitest';
import type { PolicyOverride } from '../../src/config/schema.js';
import { SecretRegistry } from '../../src/log/secret-registry.js';
import { classAlphabet, policyAlphabet } from '../../src/policy/alphabet.js';
import { CROSS_CLOUD_POLICY, PROVIDER_POLICIES } from '../../src/policy/catalog.js';
import { PasswordGenerationError } from '../../src/policy/errors.js';
import {
  type CandidateSource,
  defaultLength,
  generatePassword,
  generatePasswordSource,
} from '../../src/policy/generate.js';
import { narrowPolicy } from '../../src/policy/narrow.js';
import { CHAR_CLASSES, type PasswordPolicy } from '../../src/policy/types.js';
import { isValidPassword, validatePassword } from '../../src/policy/validate.js';
import { chiSquare, chiSquareCritical, countChars, expectedPerPassword } from './uniformity.js';

const RUNS = 10_000;
// z = 4.75 is a one-sided p of about 1e-6: a fixed tolerance that a fair generator fails once in a million runs.
const Z = 4.75;

function narrowed(base: PasswordPolicy, override: PolicyOverride): PasswordPolicy {
  const { policy, problems } = narrowPolicy(base, override, `${base.name} + ${JSON.stringify(override)}`);
  if (problems.length) throw new Error(`test setup: ${JSON.stringify(problems)}`);
  return policy;
}

const policies: PasswordPolicy[] = [
  PROVIDER_POLICIES['ncp-cdss'],
  PROVIDER_POLICIES['huaweicloud-css'],
  PROVIDER_POLICIES['otc-css'],
  CROSS_CLOUD_POLICY,
  narrowed(PROVIDER_POLICIES['ncp-cdss'], { length: 8 }),
  narrowed(PROVIDER_POLICIES['ncp-cdss'], { length: { min: 12, max: 16 }, specials: '!#' }),
  narrowed(PROVIDER_POLICIES['otc-css'], { length: 24, minClasses: 4 }),
  narrowed(PROVIDER_POLICIES['huaweicloud-css'], { length: 8, specials: '-_', forbid: ['x', 'Y', '0'] }),
];

function uniformityStat(policy: PasswordPolicy, passwords: readonly string[], length: number) {
  const expected = new Map(
    [...expectedPerPassword(policy, length)].map(([ch, e]) => [ch, e * passwords.length]),
  );
  const observed = countChars(passwords);
  return {
    expected,
    observed,
    stat: chiSquare(observed, expected),
    critical: chiSquareCritical(expected.size - 1, Z),
  };
}

describe('generatePassword', () => {
  describe.each(policies.map((p) => [p.name!, p] as const))('%s', (_name, policy) => {
    const length = defaultLength(policy);
    const passwords = Array.from({ length: RUNS }, () => generatePassword(policy));

    it(`${RUNS} passwords all pass the validator, at the default length`, () => {
      const bad = passwords.filter((pw) => !isValidPassword(pw, policy));
      expect(bad.length).toBe(0);
      expect(new Set(passwords.map((pw) => pw.length))).toEqual(new Set([length]));
      expect(new Set(passwords).size).toBe(RUNS);
    });

    it('draws every allowed character with a frequency close to uniform (chi-square, fixed tolerance)', () => {
      const { expected, observed, stat, critical } = uniformityStat(policy, passwords, length);
      // Nothing outside the alphabet, every allowed character seen.
      expect([...observed.keys()].every((ch) => expected.has(ch))).toBe(true);
      expect(observed.size).toBe(expected.size);
      expect(stat).toBeLessThan(critical);
      // No class starved: each class's share within 5% of what it should be.
      for (const cls of CHAR_CLASSES) {
        const chars = [...classAlphabet(policy, cls)];
        const o = chars.reduce((s, ch) => s + (observed.get(ch) ?? 0), 0);
        const e = chars.reduce((s, ch) => s + expected.get(ch)!, 0);
        expect(Math.abs(o - e) / e).toBeLessThan(0.05);
      }
    });
  });

  it('the uniformity check can fail: it flags the bias of a duplicated pool character', () => {
    const policy = PROVIDER_POLICIES['otc-css'];
    const alphabet = policyAlphabet(policy);
    // What generate-password's `exclude` would leave behind for a pool with a repeated character.
    const biased: CandidateSource = (_a, length) =>
      generate({ length, lowercase: false, uppercase: false, numbers: false, symbols: alphabet + '!' });
    const passwords = Array.from({ length: RUNS }, () => generatePassword(policy, { source: biased }));
    const { stat, critical } = uniformityStat(policy, passwords, defaultLength(policy));
    expect(stat).toBeGreaterThan(critical);
  });

  it('generate-password gets exactly the policy alphabet, once per character', () => {
    const policy = narrowed(PROVIDER_POLICIES['ncp-cdss'], { specials: '!]^-' });
    expect(policyAlphabet(policy)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!]^-');
    const seen = new Set(
      Array.from({ length: 200 }, () => generatePasswordSource(policyAlphabet(policy), 20)).join(''),
    );
    expect([...seen].sort().join('')).toBe([...policyAlphabet(policy)].sort().join(''));
  });

  it('narrowed overrides (fast-check): every password passes both the narrowed and the provider policy', () => {
    const ids = Object.keys(PROVIDER_POLICIES) as (keyof typeof PROVIDER_POLICIES)[];
    const overrideArb = fc.constantFrom(...ids).chain((id) => {
      const base = PROVIDER_POLICIES[id];
      return fc.record({
        id: fc.constant(id),
        override: fc.record(
          {
            length: fc.oneof(
              fc.integer({ min: base.minLength, max: base.maxLength }),
              fc
                .tuple(
                  fc.integer({ min: base.minLength, max: base.maxLength }),
                  fc.integer({ min: base.minLength, max: base.maxLength }),
                )
                .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) })),
            ),
            specials: fc.subarray([...base.specials], { minLength: 1 }).map((a) => a.join('')),
            minClasses: fc.integer({ min: base.minClasses, max: 4 }),
            forbid: fc.array(fc.stringMatching(/^[a-z0-9]{2,4}$/), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
      });
    });
    fc.assert(
      fc.property(overrideArb, ({ id, override }) => {
        const base = PROVIDER_POLICIES[id];
        const { policy, problems } = narrowPolicy(base, override);
        expect(problems).toEqual([]);
        for (let i = 0; i < 25; i++) {
          const pw = generatePassword(policy);
          expect(validatePassword(pw, policy)).toEqual([]);
          expect(validatePassword(pw, base)).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('admin / nimda never come out', () => {
  it('a candidate source that splices admin or nimda in any case is always filtered (fast-check)', () => {
    const policy = PROVIDER_POLICIES['huaweicloud-css'];
    fc.assert(
      fc.property(
        fc.constantFrom('admin', 'nimda').chain((w) => fc.mixedCase(fc.constant(w))),
        fc.integer({ min: 0, max: 27 }),
        fc.integer({ min: 1, max: 5 }),
        (word, at, dirtyFirst) => {
          let calls = 0;
          const source: CandidateSource = (alphabet, length) => {
            const clean = generatePasswordSource(alphabet, length);
            calls++;
            return calls <= dirtyFirst ? clean.slice(0, at) + word + clean.slice(at + word.length) : clean;
          };
          const pw = generatePassword(policy, { source });
          expect(calls).toBeGreaterThan(dirtyFirst);
          expect(pw.toLowerCase()).not.toContain('admin');
          expect(pw.toLowerCase()).not.toContain('nimda');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('real draws from a tiny narrowed alphabet produce admin/nimda, and the generator filters them', () => {
    // Only a d m i n (both cases), the digit 9 and '!' remain: admin turns up in ~0.7% of 32-char draws.
    const keep = new Set('admin9');
    const forbid = [...'abcdefghijklmnopqrstuvwxyz0123456789'].filter((c) => !keep.has(c));
    const policy = narrowed(PROVIDER_POLICIES['otc-css'], { specials: '!', forbid });
    expect(policyAlphabet(policy)).toBe('ADIMNadimn9!');
    let dirty = 0;
    const counting: CandidateSource = (alphabet, length) => {
      const c = generatePasswordSource(alphabet, length);
      if (/admin|nimda/i.test(c)) dirty++;
      return c;
    };
    const out = Array.from({ length: RUNS }, () => generatePassword(policy, { source: counting }));
    expect(dirty).toBeGreaterThan(10);
    expect(out.filter((pw) => /admin|nimda/i.test(pw))).toEqual([]);
  });
});

describe('bounded retry', () => {
  it('throws PasswordGenerationError naming the policy and the failing rules, never a candidate', () => {
    const seen: string[] = [];
    const source: CandidateSource = (alphabet, length) => {
      const c = 'xAdMiNx' + generatePasswordSource(alphabet, length - 7);
      seen.push(c);
      return c;
    };
    const policy = PROVIDER_POLICIES['otc-css'];
    let error: unknown;
    try {
      generatePassword(policy, { source, maxAttempts: 50 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PasswordGenerationError);
    const e = error as PasswordGenerationError;
    expect(e.policyName).toBe('otc-css');
    expect(e.attempts).toBe(50);
    expect(seen.length).toBe(50);
    expect(e.message).toMatch(/otc-css .* after 50 attempts; rejections: forbidden-substring x50/);
    for (const c of seen) expect(e.message).not.toContain(c);
  });

  it('gives up at 200 attempts by default when no candidate can pass', () => {
    let calls = 0;
    const policy = PROVIDER_POLICIES['ncp-cdss'];
    const lowerOnly: CandidateSource = (_a, length) => {
      calls++;
      return 'a'.repeat(length);
    };
    expect(() => generatePassword(policy, { source: lowerOnly })).toThrow(PasswordGenerationError);
    expect(calls).toBe(200);
  });

  it('rejects a length outside the policy', () => {
    expect(() => generatePassword(PROVIDER_POLICIES['ncp-cdss'], { length: 21 })).toThrow(
      /length 21 is outside 8-20/,
    );
    expect(generatePassword(PROVIDER_POLICIES['ncp-cdss'], { length: 9 })).toHaveLength(9);
  });

  it('default length is the maximum capped at 32', () => {
    expect(defaultLength(PROVIDER_POLICIES['ncp-cdss'])).toBe(20);
    expect(defaultLength(PROVIDER_POLICIES['otc-css'])).toBe(32);
    expect(defaultLength({ ...PROVIDER_POLICIES['otc-css'], maxLength: 64 })).toBe(32);
  });

  it('registers what it returns in the given registry', () => {
    const registry = new SecretRegistry();
    const pw = generatePassword(PROVIDER_POLICIES['otc-css'], { registry });
    expect(registry.has(pw)).toBe(true);
    expect(registry.scrub(`reset to ${pw}`)).toBe('reset to [REDACTED]');
  });
});
