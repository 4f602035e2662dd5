import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { PROVIDER_IDS } from '../../src/config/provider-ids.js';
import { createProvider, providerIds } from '../../src/providers/registry.js';

const deps = { fetch: globalThis.fetch, clock: manualClock(), timeoutMs: 1000 };
const SHARED_FOLDERS = new Set(['shared']);

describe('provider registry', () => {
  it('registers every folder under src/providers/ (except shared helpers), and only those', () => {
    const dir = fileURLToPath(new URL('../../src/providers/', import.meta.url));
    const folders = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !SHARED_FOLDERS.has(d.name))
      .map((d) => d.name)
      .sort();
    expect(providerIds().sort()).toEqual(folders);
    expect([...PROVIDER_IDS].sort()).toEqual(folders);
    for (const id of folders) expect(createProvider(id, deps).id).toBe(id);
  });

  it('rejects an unknown id, listing the valid ones', () => {
    expect(() => createProvider('aws-opensearch', deps)).toThrow(
      "unknown provider 'aws-opensearch': must be one of: ncp-cdss, huaweicloud-css, otc-css",
    );
  });

  it('each provider carries its cloud password policy', () => {
    expect(createProvider('ncp-cdss', deps).policy).toMatchObject({
      minLength: 8,
      maxLength: 20,
      minClasses: 4,
    });
    expect(createProvider('otc-css', deps).policy).toMatchObject({
      minLength: 8,
      maxLength: 32,
      minClasses: 3,
    });
  });
});

const target = (over: Partial<TargetConfig>) => over as TargetConfig;

describe('base URLs and target validation', () => {
  it('Huawei Cloud: css.{region}, es.{region} for cn-north-1 / cn-east-2, endpoint overrides', () => {
    const p = createProvider('huaweicloud-css', deps);
    expect(p.baseUrl(target({ region: 'ap-southeast-1' }))).toBe(
      'https://css.ap-southeast-1.myhuaweicloud.com',
    );
    expect(p.baseUrl(target({ region: 'cn-north-1' }))).toBe('https://es.cn-north-1.myhuaweicloud.com');
    expect(p.baseUrl(target({ region: 'cn-east-2' }))).toBe('https://es.cn-east-2.myhuaweicloud.com');
    expect(p.baseUrl(target({ region: 'x', endpoint: 'http://127.0.0.1:8/' }))).toBe('http://127.0.0.1:8');
    expect(p.validateTarget(target({ region: 'cn-north-4' }))).toEqual([]);
    const [problem] = p.validateTarget(target({ region: 'eu-de' }));
    expect(problem?.path).toEqual(['region']);
    expect(problem?.message).toMatch(
      /unknown region 'eu-de' for huaweicloud-css: must be one of: .*cn-north-4/,
    );
    expect(p.validateTarget(target({ region: 'anything', endpoint: 'https://css.example' }))).toEqual([]);
  });

  it('OTC: eu-de and eu-nl', () => {
    const p = createProvider('otc-css', deps);
    expect(p.baseUrl(target({ region: 'eu-de' }))).toBe('https://css.eu-de.otc.t-systems.com');
    expect(p.baseUrl(target({ region: 'eu-nl' }))).toBe('https://css.eu-nl.otc.t-systems.com');
    expect(p.validateTarget(target({ region: 'eu-ch' }))).toEqual([
      {
        path: ['region'],
        message: "unknown region 'eu-ch' for otc-css: must be one of: eu-de, eu-nl (or set endpoint)",
      },
    ]);
  });

  it('NCP: region checked against the site', () => {
    const p = createProvider('ncp-cdss', deps);
    expect(p.validateTarget(target({ site: 'gov', region: 'KRS' }))).toEqual([]);
    expect(p.validateTarget(target({ site: 'gov', region: 'SGN' }))).toEqual([
      {
        path: ['region'],
        message: "unknown region 'SGN' for site gov: must be one of: KR, KRS (or set endpoint)",
      },
    ]);
    expect(p.validateTarget(target({ site: 'fin', region: 'KR', endpoint: 'http://127.0.0.1:1' }))).toEqual(
      [],
    );
    expect(p.validateTarget(target({ region: 'KR' }))[0]?.path).toEqual(['site']);
  });
});
