import { describe, expect, it } from 'vitest';
import type { PolicyOverride } from '../../src/config/schema.js';
import { NCP_CDSS_POLICY, OTC_CSS_POLICY } from '../../src/policy/catalog.js';
import { PolicyError } from '../../src/policy/errors.js';
import { narrowPolicy, targetPolicy } from '../../src/policy/narrow.js';

describe('narrowPolicy', () => {
  it('returns the provider policy unchanged without an override', () => {
    expect(narrowPolicy(OTC_CSS_POLICY, undefined)).toEqual({ policy: OTC_CSS_POLICY, problems: [] });
  });

  it('narrows length, specials, minClasses and forbidden words', () => {
    const { policy, problems } = narrowPolicy(
      OTC_CSS_POLICY,
      { length: 24, specials: '!!#-', minClasses: 4, forbid: ['Kafka', 'ADMIN'] },
      'otc-css narrowed by target t',
    );
    expect(problems).toEqual([]);
    expect(policy).toEqual({
      name: 'otc-css narrowed by target t',
      minLength: 24,
      maxLength: 24,
      specials: '!#-',
      requiredClasses: [],
      minClasses: 4,
      forbiddenSubstrings: ['admin', 'nimda', 'Kafka'],
    });
    const range = narrowPolicy(NCP_CDSS_POLICY, { length: { min: 12, max: 16 } });
    expect(range.problems).toEqual([]);
    expect([range.policy.minLength, range.policy.maxLength]).toEqual([12, 16]);
  });

  const widening: [
    string,
    typeof NCP_CDSS_POLICY | typeof OTC_CSS_POLICY,
    PolicyOverride,
    { path: string; message: string }[],
  ][] = [
    [
      'length above max',
      NCP_CDSS_POLICY,
      { length: 24 },
      [{ path: 'policy.length', message: "24 is outside ncp-cdss's range 8-20" }],
    ],
    [
      'length below min',
      OTC_CSS_POLICY,
      { length: 6 },
      [{ path: 'policy.length', message: "6 is outside otc-css's range 8-32" }],
    ],
    [
      'range outside both ends',
      OTC_CSS_POLICY,
      { length: { min: 4, max: 40 } },
      [
        { path: 'policy.length.min', message: "4 is below otc-css's minimum 8" },
        { path: 'policy.length.max', message: "40 is above otc-css's maximum 32" },
      ],
    ],
    [
      'range min > max',
      OTC_CSS_POLICY,
      { length: { min: 20, max: 10 } },
      [{ path: 'policy.length', message: 'min 20 is greater than max 10' }],
    ],
    [
      'specials the provider rejects',
      NCP_CDSS_POLICY,
      { specials: '!+&' },
      [
        { path: 'policy.specials', message: "'+' is not accepted by ncp-cdss" },
        { path: 'policy.specials', message: "'&' is not accepted by ncp-cdss" },
      ],
    ],
    [
      'fewer classes than the provider',
      NCP_CDSS_POLICY,
      { minClasses: 3 },
      [
        {
          path: 'policy.minClasses',
          message: "3 would loosen ncp-cdss's rule of at least 4 classes (an override may only narrow)",
        },
      ],
    ],
  ];
  it.each(widening)('rejects widening: %s', (_name, base, override, expected) => {
    expect(narrowPolicy(base, override).problems).toEqual(expected);
  });

  it('rejects overrides that leave no satisfiable policy', () => {
    // NCP requires a special: forbidding the only allowed special leaves none.
    expect(narrowPolicy(NCP_CDSS_POLICY, { specials: '!', forbid: ['!'] }).problems).toEqual([
      {
        path: 'policy.specials',
        message: 'no special character is left, but ncp-cdss (narrowed) requires one',
      },
      { path: 'policy.forbid', message: '4 classes required but only 3 have characters left' },
    ]);
    // Forbidding every digit leaves 3 classes: 4 can no longer be met.
    const noDigits = narrowPolicy(OTC_CSS_POLICY, { minClasses: 4, forbid: [...'0123456789'] });
    expect(noDigits.problems).toEqual([
      { path: 'policy.minClasses', message: '4 classes required but only 3 have characters left' },
    ]);
  });

  it('targetPolicy throws PolicyError listing every problem', () => {
    expect(() => targetPolicy('ncp-cdss', { length: 30, specials: '+' }, 'k')).toThrow(PolicyError);
    try {
      targetPolicy('ncp-cdss', { length: 30, specials: '+' }, 'k');
    } catch (err) {
      expect((err as PolicyError).problems.map((p) => p.path)).toEqual(['policy.length', 'policy.specials']);
    }
    expect(targetPolicy('otc-css', { length: 24 }, 'search').name).toBe('otc-css narrowed by target search');
    expect(targetPolicy('otc-css')).toBe(OTC_CSS_POLICY);
  });
});
