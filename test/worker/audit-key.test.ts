import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { ConfigError } from '../../src/config/problems.js';
import { buildComponents } from '../../src/worker/components.js';
import { captureLogger } from '../alerts/capture-logger.js';
import { mixedRun } from '../audit/mixed-run.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { makeConfig, otcTarget } from './fixtures.js';

let dir: string;
let redis: Redis;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-key-'));
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'worker-audit-key-5e0c1d2b3a49f8e7';
const env = (key: string) => ({
  TEST_OTC_AK: 'ak-audit-key-test',
  TEST_OTC_SK: 'sk-audit-key-test',
  TEST_FILE_KEY: 'b'.repeat(64),
  AUDIT_KEY: key,
});

function configFor(path: string) {
  return makeConfig(uniquePrefix('audit-key'), redisUrl(), [otcTarget('a')], {
    store: { type: 'file', path: join(dir, 'secrets.enc'), key: { env: 'TEST_FILE_KEY' } },
    audit: { path, key: { env: 'AUDIT_KEY' } },
  });
}

describe('audit.key in the worker', () => {
  it('keys every record the worker appends; verify needs the key', async () => {
    const path = join(dir, 'audit.jsonl');
    const { logger, lines } = captureLogger();
    const components = await buildComponents({ config: configFor(path), redis, logger, env: env(KEY) });
    for (const event of mixedRun().events.slice(0, 5)) await components.audit.append(event);
    await components.close();

    expect(await verifyAuditTrail(path, { key: Buffer.from(KEY) })).toMatchObject({
      ok: true,
      records: 5,
      keyedFrom: 1,
    });
    expect(await verifyAuditTrail(path)).toMatchObject({ ok: false, problem: { kind: 'key-required' } });
    expect(await verifyAuditTrail(path, { key: Buffer.from(`${KEY}-other`) })).toMatchObject({
      ok: false,
      problem: { kind: 'hash-mismatch', line: 1 },
    });
    expect(await readFile(path, 'utf8')).not.toContain(KEY);
    for (const line of lines) expect(line).not.toContain(KEY);
  });

  it('refuses a key shorter than 16 bytes at start, naming audit.key', async () => {
    const err = await buildComponents({
      config: configFor(join(dir, 'short.jsonl')),
      redis,
      env: env('too-short'),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      { path: 'audit.key', message: 'must be at least 16 bytes, got 9 (e.g. openssl rand -base64 32)' },
    ]);
  });
});
