import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../src/config/schema.js';
import { createRotatorMetrics } from '../../src/metrics/registry.js';
import { createRateLimiter } from '../../src/queue/rate-limit.js';
import { createStore } from '../../src/secrets/index.js';
import { storeWriteGate } from '../../src/worker/components.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const redis = new Redis(redisUrl());
afterAll(async () => {
  await redis.quit();
});

const ACCESS_KEY = 'AKIASTOREGATETEST0001';
const aws = (region: string, rateLimit?: { max: number; per: number }): { store: StoreConfig } => ({
  store: { type: 'aws-secrets-manager', region, create: true, ...(rateLimit ? { rateLimit } : {}) },
});

describe('store write gate', () => {
  it('workers on one Redis share one limiter key per account and region; no credential in the key', async () => {
    const prefix = uniquePrefix('store-gate');
    const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY };
    // Two workers: each its own limiter, the same Redis and prefix.
    const gates = [0, 1].map(() =>
      storeWriteGate(aws('eu-central-1'), createRateLimiter(redis, { prefix }), { env }),
    );
    await gates[0]!('PutSecretValue');
    await gates[1]!('UpdateSecretVersionStage');
    const other = storeWriteGate(aws('eu-west-1'), createRateLimiter(redis, { prefix }), { env });
    await other!('PutSecretValue');
    const keys = (await redis.keys(`${prefix}:ratelimit:*`)).sort();
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}:ratelimit:store:aws-secrets-manager:[0-9a-f]{32}$`));
      expect(key).not.toContain(ACCESS_KEY);
    }
    const counts = await Promise.all(keys.map((k) => redis.zcard(k)));
    expect(counts.sort((a, b) => a - b)).toEqual([1, 2]);
    const members = (await Promise.all(keys.map((k) => redis.zrange(k, '0', '-1')))).flat().join(' ');
    expect(members).not.toContain(ACCESS_KEY);
  });

  it('takes the configured limit, defaults to 40/s on AWS, and none on a file store without one', async () => {
    const prefix = uniquePrefix('store-gate');
    const limiter = createRateLimiter(redis, { prefix });
    expect(storeWriteGate({ store: { type: 'file', path: './x.json' } }, limiter)).toBeUndefined();
    // max 1 per minute: a second write in the window would wait, so the set holds exactly one.
    const gate = storeWriteGate(aws('eu-central-1', { max: 1, per: 60_000 }), limiter, { env: {} });
    await gate!('PutSecretValue');
    const [key] = await redis.keys(`${prefix}:ratelimit:*`);
    expect(await redis.pttl(key!)).toBeGreaterThan(60_000);
    const aborted = new AbortController();
    const waiting = gate!('PutSecretValue', aborted.signal);
    aborted.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    expect(await redis.zcard(key!)).toBe(1);
  });

  it('gates every write of a file store that has a limit, and none of its reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'store-gate-'));
    const gated: string[] = [];
    const store = createStore(
      { type: 'file', path: join(dir, 'secrets.json'), rateLimit: { max: 5, per: 1_000 } },
      { writeGate: async (op) => void gated.push(op) },
    );
    try {
      const [a, b] = [randomUUID(), randomUUID()];
      await store.stagePending('app/db', a, 'first');
      await store.promote('app/db', a);
      await store.stagePending('app/db', b, 'second');
      await store.dropPending('app/db', b);
      expect((await store.getCurrent('app/db'))?.text).toBe('first');
      await store.describe('app/db');
      expect(gated).toEqual(['stagePending', 'promote', 'stagePending', 'dropPending']);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('counts throttled store calls by operation', async () => {
    const metrics = createRotatorMetrics();
    metrics.storeThrottled('PutSecretValue');
    metrics.storeThrottled('PutSecretValue');
    metrics.storeThrottled('UpdateSecretVersionStage');
    const text = await metrics.registry.metrics();
    expect(text).toContain('rotator_store_throttled_total{operation="PutSecretValue"} 2');
    expect(text).toContain('rotator_store_throttled_total{operation="UpdateSecretVersionStage"} 1');
  });
});
