import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/definitions.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import { openQueues, type RotatorQueues } from '../../src/queue/queues.js';
import { desiredSchedulers, reconcileSchedulers } from '../../src/queue/reconcile.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { makeConfig, otcTarget } from '../worker/fixtures.js';

const opened: RotatorQueues[] = [];

async function open(prefix: string): Promise<RotatorQueues> {
  const q = openQueues(createRedisConnection(redisUrl()), prefix);
  opened.push(q);
  return q;
}

afterEach(async () => {
  for (const q of opened.splice(0)) {
    await q.close();
    await q.connection.quit();
  }
});

async function cleanup(q: RotatorQueues): Promise<void> {
  await q.triggers.obliterate({ force: true });
  await q.rotations.obliterate({ force: true });
  const keys = await q.connection.keys(`${q.prefix}:*`);
  if (keys.length) await q.connection.del(...keys);
}

async function snapshot(q: RotatorQueues) {
  const schedulers = await q.triggers.getJobSchedulers(0, -1, true);
  const jobs = await q.triggers.getJobs(['delayed', 'waiting', 'prioritized']);
  return {
    schedulers: new Map(schedulers.map((s) => [s.key, s])),
    jobSchedulerIds: jobs.map((j) => j.repeatJobKey).sort(),
  };
}

describe('reconcileSchedulers', () => {
  it('adds, changes and removes schedulers to match the config, and is idempotent', async () => {
    const prefix = uniquePrefix('reconcile');
    const q = await open(prefix);
    try {
      const v1 = makeConfig(prefix, redisUrl(), [
        otcTarget('a', { schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin' } }),
        otcTarget('b', { schedule: { every: '7d' } }),
        otcTarget('c'),
        otcTarget('off', { enabled: false }),
      ]);
      const first = await reconcileSchedulers(q.triggers, q.connection, prefix, desiredSchedulers(v1));
      expect(first.added.sort()).toEqual(['rotate-a', 'rotate-b', 'rotate-c', 'watchdog']);
      expect(first.changed).toEqual([]);
      expect(first.removed).toEqual([]);

      let s = await snapshot(q);
      expect([...s.schedulers.keys()].sort()).toEqual(['rotate-a', 'rotate-b', 'rotate-c', 'watchdog']);
      expect(s.schedulers.get('rotate-a')).toMatchObject({ pattern: '0 3 * * *', tz: 'Europe/Berlin' });
      expect(s.schedulers.get('rotate-b')).toMatchObject({ every: 7 * 86_400_000 });
      // the default schedule of the config
      expect(s.schedulers.get('rotate-c')).toMatchObject({ pattern: '0 3 1 * *', tz: 'UTC' });
      expect(s.schedulers.get('rotate-c')?.template?.data).toEqual({ targetId: 'c' });
      // exactly one pending trigger job per scheduler
      expect(s.jobSchedulerIds).toEqual(['rotate-a', 'rotate-b', 'rotate-c', 'watchdog']);

      // restart with the same config: nothing touched
      const again = await reconcileSchedulers(q.triggers, q.connection, prefix, desiredSchedulers(v1));
      expect(again).toEqual({ added: [], changed: [], removed: [], unchanged: 4 });

      // restart with a changed config: a's schedule changes, b is removed, d is added, c disabled
      const v2 = makeConfig(prefix, redisUrl(), [
        otcTarget('a', { schedule: { cron: '30 4 * * 1', tz: 'UTC' } }),
        otcTarget('c', { enabled: false }),
        otcTarget('d', { schedule: { every: '1h' } }),
      ]);
      const second = await reconcileSchedulers(q.triggers, q.connection, prefix, desiredSchedulers(v2));
      expect(second.added).toEqual(['rotate-d']);
      expect(second.changed).toEqual(['rotate-a']);
      expect(second.removed.sort()).toEqual(['rotate-b', 'rotate-c']);
      s = await snapshot(q);
      expect([...s.schedulers.keys()].sort()).toEqual(['rotate-a', 'rotate-d', 'watchdog']);
      expect(s.schedulers.get('rotate-a')).toMatchObject({ pattern: '30 4 * * 1', tz: 'UTC' });
      expect(s.jobSchedulerIds).toEqual(['rotate-a', 'rotate-d', 'watchdog']);
    } finally {
      await cleanup(q);
    }
  });

  it('several workers reconciling at once create each scheduler and its next job once', async () => {
    const prefix = uniquePrefix('reconcile-many');
    const workers = await Promise.all(Array.from({ length: 4 }, () => open(prefix)));
    try {
      const targets = Array.from({ length: 40 }, (_, i) =>
        otcTarget(`t${i}`, i % 2 ? { schedule: { every: `${i + 1}h` } } : {}),
      );
      const config = makeConfig(prefix, redisUrl(), targets);
      const results = await Promise.all(
        workers.map((q) => reconcileSchedulers(q.triggers, q.connection, prefix, desiredSchedulers(config))),
      );
      // one of them did the work, the others found it done
      expect(results.map((r) => r.added.length).sort((a, b) => a - b)).toEqual([0, 0, 0, 41]);
      const s = await snapshot(workers[0]!);
      expect(s.schedulers.size).toBe(41);
      expect(s.jobSchedulerIds).toHaveLength(41);
      expect(new Set(s.jobSchedulerIds).size).toBe(41);
      expect(await workers[0]!.rotations.count()).toBe(0);
      expect(QUEUE_NAMES.triggers).toBe('triggers');
    } finally {
      await cleanup(workers[0]!);
    }
  });
});
