import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComponents } from '../../src/worker/components.js';
import { captureLogger } from '../alerts/capture-logger.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { makeConfig, otcTarget } from './fixtures.js';

let dir: string;
let redis: Redis;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insecure-http-'));
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

describe('allowInsecureHttp at the worker start', () => {
  it('warns once per clear-text URL of a target that allows it, and not for loopback or https', async () => {
    const config = makeConfig(
      uniquePrefix('insecure'),
      redisUrl(),
      [
        otcTarget('allowed', {
          endpoint: 'http://sandbox.internal:8787',
          dataPlane: { url: 'http://10.0.0.9:9200/' },
          allowInsecureHttp: true,
        }),
        otcTarget('loopback', { endpoint: 'http://127.0.0.1:8787' }),
        otcTarget('tls', { endpoint: 'https://css.example.com', allowInsecureHttp: true }),
      ],
      {
        store: { type: 'file', path: join(dir, 'secrets.enc'), key: { env: 'TEST_FILE_KEY' } },
        audit: { path: join(dir, 'audit.jsonl') },
      },
    );
    const { logger, lines } = captureLogger();
    const components = await buildComponents({
      config,
      redis,
      logger,
      env: {
        TEST_OTC_AK: 'ak-insecure-test',
        TEST_OTC_SK: 'sk-insecure-test',
        TEST_FILE_KEY: 'a'.repeat(64),
      },
    });
    await components.close();
    const warnings = lines
      .map((l) => JSON.parse(l) as { level: number; field?: string; msg: string })
      .filter((l) => l.level === 40);
    expect(warnings.map((w) => [w.field, w.msg])).toEqual([
      [
        'targets[0].endpoint',
        'http:// to sandbox.internal:8787 sends credentials and passwords in clear text (allowed by allowInsecureHttp: true)',
      ],
      [
        'targets[0].dataPlane.url',
        'http:// to 10.0.0.9:9200 sends credentials and passwords in clear text (allowed by allowInsecureHttp: true)',
      ],
    ]);
  });
});
