import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runWatchdog } from '../../jobs/watchdog.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { createStore } from '../../src/secrets/index.js';
import type { SecretStore } from '../../src/secrets/types.js';
import type { Alert } from '../../src/alerts/types.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { makeConfig, otcTarget } from './fixtures.js';

const DAY = 86_400_000;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('watchdog', () => {
  it('alerts exactly the targets whose last success is older than the schedule allows, on real Redis and store', async () => {
    const prefix = uniquePrefix('watchdog');
    const redis = createRedisConnection(redisUrl());
    const dir = mkdtempSync(join(tmpdir(), 'rotator-watchdog-'));
    const store: SecretStore = createStore({ type: 'file', path: join(dir, 'secrets.json') });
    cleanup.push(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const every30d = { schedule: { every: '30d' } };
    const config = makeConfig(
      prefix,
      redisUrl(),
      [
        otcTarget('fresh', every30d), // succeeded 10 days ago
        otcTarget('stale', every30d), // succeeded 40 days ago
        otcTarget('never', every30d), // known for 40 days, never succeeded
        otcTarget('store-only', every30d), // Redis lost its record; the store has a current version from today
        otcTarget('off', { ...every30d, enabled: false }), // disabled: never alerted
      ],
      { watchdog: { every: '1h', grace: '1d' } },
    );
    const now = Date.now();
    const state = new TargetStateStore(redis, prefix);
    await state.markSeen(['fresh', 'stale', 'never', 'off'], now - 40 * DAY);
    await state.recordSuccess('fresh', 'rot-1', 'v-1', now - 10 * DAY);
    await state.recordSuccess('stale', 'rot-2', 'v-2', now - 40 * DAY);
    const token = 'a2b4c6d8-0000-4000-8000-000000000001';
    await store.stagePending(
      'test/store-only',
      token,
      JSON.stringify({
        username: 'admin',
        password: 'Xy7-pass-word!',
        engine: 'otc-css',
      }),
    );
    await store.promote('test/store-only', token);

    const alerts: Alert[] = [];
    const overdue = await runWatchdog({ config, state, store, alert: async (a) => void alerts.push(a), now });

    expect(overdue.sort()).toEqual(['never', 'stale']);
    expect(alerts.map((a) => [a.targetId, a.reason]).sort()).toEqual([
      ['never', 'overdue'],
      ['stale', 'overdue'],
    ]);
    const stale = alerts.find((a) => a.targetId === 'stale')!;
    expect(stale.details).toMatchObject({
      lastSuccessAt: new Date(now - 40 * DAY).toISOString(),
      secretId: 'test/stale',
    });
    expect(JSON.stringify(alerts)).not.toContain('Xy7-pass-word!');
  });
});
