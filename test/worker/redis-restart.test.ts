import { afterAll, describe, expect, it } from 'vitest';
import { enqueueRotation } from '../../src/queue/enqueue.js';
import { waitForRotations } from '../../src/queue/wait.js';
import { type PrivateRedis, startPrivateRedis } from '../../src/util/redis-server.js';
import { FAST_DEFAULTS, type Harness, startHarness } from './harness.js';
import { until } from './until.js';
import { passwordOf } from '../support/secret-text.js';

let redis: PrivateRedis | undefined;
let h: Harness | undefined;
afterAll(async () => {
  await h?.close().catch(() => undefined);
  await redis?.stop();
});

describe('Redis restarted (and its data lost) in the middle of a batch', () => {
  it('loses nothing: every target ends rotated or alerted, store and cluster agree', async () => {
    redis = await startPrivateRedis();
    h = await startHarness({
      redisUrl: redis.url,
      busyMs: 400,
      clusters: [
        ...Array.from({ length: 24 }, (_, i) => ({ key: `rr-${i}` })),
        // 412 on every try: stays alerted even when rolled forward after the data loss
        {
          key: 'rr-frozen',
          faults: Array.from({ length: 5 }, () => ({ type: 'http' as const, status: 412 })),
        },
      ],
      config: {
        worker: { concurrency: 6, shutdownTimeout: '5s' },
        // A resubmitted rotation can meet the pending version of the job Redis lost: busy until it is
        // orphaned, one lease (3 s) after it was staged. Its Retry-After says so, but the harness's
        // maxDelay of 300 ms caps that wait, and on a fast machine 5 capped retries end before the
        // lease does. With maxDelay at the lease, one busy retry waits it out, as production's
        // defaults (maxDelay 1h, lease 30s) do.
        defaults: { ...FAST_DEFAULTS, retry: { ...FAST_DEFAULTS.retry, maxDelay: '3s' } },
      },
    });
    const harness = h;
    const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'batch' });
    // restart once a few rotations finished and others are in flight
    await until('some rotations to finish', async () => {
      const states = await harness.runtime.state.getMany(enqueued.map((e) => e.targetId));
      return [...states.values()].filter((s) => s.lastSuccessAt).length >= 4;
    });
    await redis.restart();
    const keep = { keepCompleted: 60_000, keepFailed: 60_000 };
    const outcomes = await waitForRotations(h.runtime.queues.rotations, enqueued, {
      timeoutMs: 60_000,
      pollMs: 200,
      resubmit: (targetId) =>
        enqueueRotation(harness.runtime.queues, { targetId, trigger: 'cli', actor: 'batch' }, { keep }),
    });
    await h.components.flushAlerts(5_000);
    for (const o of outcomes) {
      if (o.targetId === 'rr-frozen') {
        expect(o.outcome).toBe('failed');
        expect(h.alerts.some((a) => a.targetId === 'rr-frozen' && a.reason === 'precondition')).toBe(true);
        continue;
      }
      expect(o.outcome, o.targetId).toBe('succeeded');
    }
    // let any roll-forward rotation enqueued after the restart finish, then compare store and clusters
    await until('the queue to drain', async () => {
      const counts = await harness.runtime.queues.rotations.getJobCounts(
        'active',
        'waiting',
        'prioritized',
        'delayed',
      );
      return Object.values(counts).every((n) => n === 0);
    });
    for (const [key, cluster] of h.clusters) {
      const current = await h.components.store.getCurrent(`h/${key}`);
      if (key === 'rr-frozen') {
        expect(current).toBeUndefined();
        expect(cluster.history).toHaveLength(1);
        continue;
      }
      expect(passwordOf(current), key).toBe(cluster.password);
      expect(await h.components.store.getPending(`h/${key}`), key).toBeUndefined();
    }
    // the schedulers were put back after the data loss
    const schedulers = await h.runtime.queues.triggers.getJobSchedulers();
    expect(schedulers).toHaveLength(26);
  }, 120_000);
});
