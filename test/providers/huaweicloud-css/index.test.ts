import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../../src/config/schema.js';
import { manualClock } from '../../../src/core/clock.js';
import { HUAWEI_CSS_REGIONS } from '../../../src/providers/huaweicloud-css/regions.js';
import { createProvider } from '../../../src/providers/registry.js';
import { clusterSchema } from '../../../src/providers/huaweicloud-css/schema.js';
import { signRequest } from '../../../src/providers/huaweicloud-css/sign.js';
import { cssProviderSuite } from '../shared/css-provider-suite.js';

cssProviderSuite({
  id: 'huaweicloud-css',
  region: 'cn-north-4',
  host: 'css.cn-north-4.myhuaweicloud.com',
  signRequest,
  clusterSchema,
});

describe('huaweicloud-css regions: the official SDK list (huaweicloud-sdk-nodejs-v3 CssRegion.ts)', () => {
  const provider = createProvider('huaweicloud-css', {
    fetch: globalThis.fetch,
    clock: manualClock(),
    timeoutMs: 1000,
  });
  const target = (region: string) => ({ region }) as TargetConfig;

  it.each([
    'cn-south-4',
    'cn-east-5',
    'cn-north-11',
    'cn-north-12',
    'cn-southwest-3',
    'ae-ad-1',
    'ru-moscow-1',
  ])('knows %s, added by the SDK', (region) => {
    expect(provider.validateTarget(target(region))).toEqual([]);
    expect(provider.baseUrl(target(region))).toBe(`https://css.${region}.myhuaweicloud.com`);
  });

  it('keeps the legacy es. host of cn-north-1 and cn-east-2, and has 32 regions', () => {
    expect(provider.baseUrl(target('cn-north-1'))).toBe('https://es.cn-north-1.myhuaweicloud.com');
    expect(provider.baseUrl(target('cn-east-2'))).toBe('https://es.cn-east-2.myhuaweicloud.com');
    expect(Object.keys(HUAWEI_CSS_REGIONS)).toHaveLength(32);
  });

  it('refuses a region the SDK does not list (eu-west-0), naming the field; endpoint still works', () => {
    expect(provider.validateTarget(target('eu-west-0'))).toEqual([
      { path: ['region'], message: expect.stringMatching(/^unknown region 'eu-west-0' for huaweicloud-css/) },
    ]);
    expect(
      provider.validateTarget({ region: 'eu-west-0', endpoint: 'https://css.example' } as TargetConfig),
    ).toEqual([]);
  });
});
