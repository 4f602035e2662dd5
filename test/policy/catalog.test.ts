import { describe, expect, it } from 'vitest';
import {
  CROSS_CLOUD_POLICY,
  CSS_SPECIALS,
  NCP_SPECIALS,
  PROVIDER_POLICIES,
} from '../../src/policy/catalog.js';
import { PROVIDER_IDS } from '../../src/config/provider-ids.js';

const chars = (s: string) => [...s];

describe('password policy catalog', () => {
  it('has a policy for every provider, named after it', () => {
    for (const id of PROVIDER_IDS) expect(PROVIDER_POLICIES[id].name).toBe(id);
  });

  it('NCP: 8-20 characters, all four classes, exactly the Terraform specials', () => {
    const ncp = PROVIDER_POLICIES['ncp-cdss'];
    expect([ncp.minLength, ncp.maxLength, ncp.minClasses]).toEqual([8, 20, 4]);
    expect([...ncp.requiredClasses].sort()).toEqual(['digit', 'lower', 'special', 'upper']);
    expect(ncp.specials).toBe('~!@#$%^*()-_=[]{};:,.<>?');
    for (const banned of ["'", '"', '`', '₩', '/', '&', ' ', '+', '\\'])
      expect(ncp.specials).not.toContain(banned);
  });

  it('Huawei and OTC: 8-32 characters, 3 of 4 classes, conservative specials, no admin/nimda', () => {
    for (const id of ['huaweicloud-css', 'otc-css'] as const) {
      const p = PROVIDER_POLICIES[id];
      expect([p.minLength, p.maxLength, p.minClasses]).toEqual([8, 32, 3]);
      expect(p.requiredClasses).toEqual([]);
      expect(p.specials).toBe('~!@#$%&*()-_=|[{}];:,<.>/?');
      for (const banned of ['^', '+', '\\']) expect(p.specials).not.toContain(banned);
      expect(p.forbiddenSubstrings).toEqual(['admin', 'nimda']);
    }
  });

  it('special sets have no duplicates and no letters, digits or whitespace', () => {
    for (const s of [NCP_SPECIALS, CSS_SPECIALS, CROSS_CLOUD_POLICY.specials]) {
      expect(new Set(s).size).toBe(s.length);
      expect(s).not.toMatch(/[A-Za-z0-9\s]/);
    }
  });

  it('the cross-cloud policy is at least as strict as every provider policy', () => {
    for (const id of PROVIDER_IDS) {
      const p = PROVIDER_POLICIES[id];
      expect(CROSS_CLOUD_POLICY.minLength).toBeGreaterThanOrEqual(p.minLength);
      expect(CROSS_CLOUD_POLICY.maxLength).toBeLessThanOrEqual(p.maxLength);
      expect(CROSS_CLOUD_POLICY.minClasses).toBeGreaterThanOrEqual(p.minClasses);
      for (const ch of chars(CROSS_CLOUD_POLICY.specials)) expect(p.specials).toContain(ch);
      for (const w of p.forbiddenSubstrings) expect(CROSS_CLOUD_POLICY.forbiddenSubstrings).toContain(w);
    }
  });
});
