import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/worker/config.js';
import { checkRefs, collectRefs, resolveRef } from '../../src/config/refs.js';
import { processSecrets, SecretRegistry } from '../../src/log/secret-registry.js';

const target = (extra: string) => `
  - id: search-eu-de
    provider: otc-css
    region: eu-de
    projectId: p1
    clusterId: c1
    credentials: { accessKey: { env: OTC_AK }, secretKey: { env: OTC_SK } }
    secret: { id: prod/css/search-eu-de/admin }
${extra}`;

describe('policy overrides in the config', () => {
  it('accepts a narrowing override', () => {
    const r = parseConfigText(
      `store: { type: file, path: x }\ntargets:${target('    policy: { length: 24, specials: "!#", minClasses: 4 }')}`,
    );
    expect(r.ok).toBe(true);
  });

  it('reports policy problems even when other parts of the config are broken', () => {
    const r = parseConfigText(
      `store: { type: nope }\nworker: { concurrency: 0 }\ntargets:${target('    policy: { length: { min: 6, max: 40 }, specials: "^" }')}`,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        { path: 'targets[0].policy.length.min', message: "6 is below otc-css's minimum 8" },
        { path: 'targets[0].policy.length.max', message: "40 is above otc-css's maximum 32" },
        { path: 'targets[0].policy.specials', message: "'^' is not accepted by otc-css" },
      ]),
    );
    expect(r.problems.map((p) => p.path)).toContain('worker.concurrency');
    expect(r.problems.some((p) => p.path.startsWith('store'))).toBe(true);
  });

  it('reports each problem once although zod and the raw checks both see it', () => {
    const r = parseConfigText(`store: { type: file, path: x }\ntargets:${target('')}${target('')}`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      { path: 'targets[1].id', message: "duplicate target id 'search-eu-de' (first at targets[0])" },
    ]);
  });
});

describe('secret references', () => {
  const r = parseConfigText(
    `store: { type: file, path: x, key: { env: FILE_KEY } }\nalerts: [{ type: webhook, url: "https://a.example/x", hmacKey: { file: /nonexistent/hmac } }]\ntargets:${target('')}`,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));

  it('collects every reference with its path', () => {
    expect(collectRefs(r.config)).toEqual([
      { path: 'store.key', ref: { env: 'FILE_KEY' } },
      { path: 'alerts[0].hmacKey', ref: { file: '/nonexistent/hmac' } },
      { path: 'targets[0].credentials.accessKey', ref: { env: 'OTC_AK' } },
      { path: 'targets[0].credentials.secretKey', ref: { env: 'OTC_SK' } },
    ]);
  });

  it('checks them, naming what failed and registering what resolved', () => {
    const registry = new SecretRegistry();
    const problems = checkRefs(r.config, { FILE_KEY: 'file-key-value', OTC_AK: 'ak-value-1234' }, registry);
    expect(problems).toEqual([
      { path: 'alerts[0].hmacKey', message: 'cannot read file /nonexistent/hmac (ENOENT)' },
      { path: 'targets[0].credentials.secretKey', message: 'environment variable OTC_SK is not set' },
    ]);
    expect(registry.has('file-key-value')).toBe(true);
    expect(registry.has('ak-value-1234')).toBe(true);
    expect(resolveRef({ env: 'X' }, { X: 'value-xyz' })).toBe('value-xyz');
  });

  it('registers resolved values in the process-wide registry by default', () => {
    const value = resolveRef({ env: 'ROTATOR_TEST_REF' }, { ROTATOR_TEST_REF: 'resolved-credential-77' });
    expect(value).toBe('resolved-credential-77');
    expect(processSecrets.scrub(`key=${value}`)).toBe('key=[REDACTED]');
  });
});

describe('worker settings', () => {
  it('reads the BullMQ lock, stall and alert fold settings, with their defaults', () => {
    const base = `store: { type: file, path: x }\ntargets:${target('')}`;
    const d = parseConfigText(base);
    expect(d.ok && d.config.worker).toMatchObject({
      lockDuration: 30_000,
      stalledInterval: 30_000,
      maxStalledCount: 10,
      alertFoldWindow: 3_600_000,
    });
    const set = parseConfigText(
      `worker: { lockDuration: 2m, stalledInterval: 10s, maxStalledCount: 3, alertFoldWindow: 15m }\n${base}`,
    );
    expect(set.ok && set.config.worker).toMatchObject({
      lockDuration: 120_000,
      stalledInterval: 10_000,
      maxStalledCount: 3,
      alertFoldWindow: 900_000,
    });
  });

  it('names each setting that is out of range', () => {
    const r = parseConfigText(
      `worker: { lockDuration: 1s, stalledInterval: 100ms, maxStalledCount: -1 }\nstore: { type: file, path: x }\ntargets:${target('')}`,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(
      expect.arrayContaining([
        {
          path: 'worker.lockDuration',
          message: 'must be at least 5s (the lock is renewed every half of it)',
        },
        { path: 'worker.stalledInterval', message: 'must be at least 1s' },
        expect.objectContaining({ path: 'worker.maxStalledCount' }),
      ]),
    );
  });
});
