import { describe, expect, it } from 'vitest';
import { CROSS_CLOUD_POLICY, NCP_CDSS_POLICY, OTC_CSS_POLICY } from '../../src/policy/catalog.js';
import type { PasswordPolicy } from '../../src/policy/types.js';
import { type PasswordRule, validatePassword } from '../../src/policy/validate.js';

interface Case {
  policy: PasswordPolicy;
  password: string;
  rules: PasswordRule[];
  why: string;
}

const cases: Case[] = [
  { policy: NCP_CDSS_POLICY, password: 'Abc1!xyZ', rules: [], why: 'exactly 8, all classes' },
  { policy: NCP_CDSS_POLICY, password: 'Ab1!xyZ', rules: ['too-short'], why: '7 characters' },
  { policy: NCP_CDSS_POLICY, password: 'Ab1!' + 'x'.repeat(17), rules: ['too-long'], why: '21 characters' },
  {
    policy: NCP_CDSS_POLICY,
    password: 'Abc1!xyZ/',
    rules: ['char-not-allowed'],
    why: "'/' forbidden by NCP",
  },
  { policy: NCP_CDSS_POLICY, password: 'Abc1!xyZ+', rules: ['char-not-allowed'], why: "'+' (Terraform)" },
  { policy: NCP_CDSS_POLICY, password: 'Abc1!xy Z', rules: ['char-not-allowed'], why: 'space' },
  { policy: NCP_CDSS_POLICY, password: 'Abc1!xy₩', rules: ['char-not-allowed'], why: '₩' },
  { policy: NCP_CDSS_POLICY, password: 'Abc1!xyé', rules: ['char-not-allowed'], why: 'non-ASCII letter' },
  {
    policy: NCP_CDSS_POLICY,
    password: 'abc1!xyz',
    rules: ['missing-class', 'too-few-classes'],
    why: 'no upper',
  },
  {
    policy: NCP_CDSS_POLICY,
    password: 'ABC1!XYZ',
    rules: ['missing-class', 'too-few-classes'],
    why: 'no lower',
  },
  {
    policy: NCP_CDSS_POLICY,
    password: 'Abcd!xyZ',
    rules: ['missing-class', 'too-few-classes'],
    why: 'no digit',
  },
  {
    policy: NCP_CDSS_POLICY,
    password: 'Abcd1xyZ',
    rules: ['missing-class', 'too-few-classes'],
    why: 'no special',
  },
  { policy: OTC_CSS_POLICY, password: 'abcd1234', rules: ['too-few-classes'], why: 'two classes' },
  { policy: OTC_CSS_POLICY, password: 'abcD1234', rules: [], why: 'three classes suffice' },
  {
    policy: OTC_CSS_POLICY,
    password: 'abcd12^!',
    rules: ['char-not-allowed'],
    why: "'^' not on every CSS page",
  },
  { policy: OTC_CSS_POLICY, password: 'xxAdMiN12', rules: ['forbidden-substring'], why: 'admin, mixed case' },
  { policy: OTC_CSS_POLICY, password: 'xxNIMDA12', rules: ['forbidden-substring'], why: 'admin reversed' },
  { policy: OTC_CSS_POLICY, password: 'ab', rules: ['too-short', 'too-few-classes'], why: 'several at once' },
  { policy: CROSS_CLOUD_POLICY, password: 'Abcdefg1!xyz', rules: [], why: 'cross-cloud ok' },
  { policy: CROSS_CLOUD_POLICY, password: 'Abcdef1!xyz', rules: ['too-short'], why: 'cross-cloud 11' },
  {
    policy: CROSS_CLOUD_POLICY,
    password: 'Abcdefg1&xyz',
    rules: ['char-not-allowed', 'missing-class', 'too-few-classes'],
    why: "'&' is not cross-cloud",
  },
];

describe('validatePassword', () => {
  it.each(cases)('$policy.name: $why', ({ policy, password, rules }) => {
    const found = validatePassword(password, policy).map((v) => v.rule);
    expect(found).toEqual(rules);
  });

  it('never puts the password or its characters into messages', () => {
    const password = 'Zq@adminZq';
    for (const v of validatePassword(password + '\u00e9', OTC_CSS_POLICY)) {
      expect(v.message).not.toContain('Zq');
      expect(v.message).not.toContain('\u00e9');
    }
  });

  it('counts characters, not UTF-16 units', () => {
    expect(validatePassword('Ab1!😀😀😀', NCP_CDSS_POLICY).map((v) => v.rule)).toEqual([
      'too-short',
      'char-not-allowed',
    ]);
  });
});
