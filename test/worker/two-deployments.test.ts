import { afterAll, describe, expect, it } from 'vitest';
import type { RotatorConfig } from '../../src/config/schema.js';
import { openQueues, type RotatorQueues } from '../../src/queue/queues.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { createStore } from '../../src/secrets/index.js';
import { createRotationControl } from '../../src/worker/control.js';
import { startWorkerChild, type WorkerChild } from './children.js';
import { type Fleet, startFleet } from './harness.js';
import { until } from './until.js';
import { passwordOf } from '../support/secret-text.js';

/**
 * Two deployments that share the clusters and the secret store but not Redis (two prefixes: each
 * sees neither the other's queue nor its leases), rotating the same targets at the same moments,
 * round after round. The store's compare-and-set is the only lock between them.
 */
const TARGETS = 6;
const ROUNDS = 8;

let fleet: Fleet | undefined;
const children: WorkerChild[] = [];
const extraQueues: RotatorQueues[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  for (const q of extraQueues) await q.close();
  if (fleet) {
    const keys = await fleet.redis.keys(`${fleet.prefix}-b:*`);
    if (keys.length) await fleet.redis.del(...keys);
    await fleet.close();
  }
});

describe('two deployments on two Redis prefixes, one store', () => {
  it('rotate the same targets at once for several rounds: every store matches its cloud', async () => {
    fleet = await startFleet({
      clusters: Array.from({ length: TARGETS }, (_, i) => ({ key: `dual-${i}` })),
    });
    const f = fleet;
    const configs: RotatorConfig[] = [
      f.config,
      { ...f.config, redis: { ...f.config.redis, prefix: `${f.prefix}-b` } },
    ];
    for (const config of configs) children.push(await startWorkerChild(config, f.env, f.dir));
    const deployments = configs.map((config) => {
      const queues = openQueues(f.redis, config.redis.prefix);
      extraQueues.push(queues);
      return {
        queues,
        control: createRotationControl(config, queues, new TargetStateStore(f.redis, config.redis.prefix)),
      };
    });
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(
        deployments.map((d) => d.control.rotate({ targets: 'all', trigger: 'api', actor: `round-${round}` })),
      );
      await until(
        `round ${round} to finish in both deployments`,
        async () => {
          for (const d of deployments) {
            const counts = await d.queues.rotations.getJobCounts(
              'active',
              'waiting',
              'delayed',
              'prioritized',
            );
            if (!Object.values(counts).every((n) => n === 0)) return false;
          }
          return true;
        },
        120_000,
        200,
      );
    }
    // No rotation gave up, in either deployment.
    for (const d of deployments) {
      const failed = await d.queues.rotations.getJobs(['failed']);
      expect(failed.map((j) => `${j.data.targetId}: ${j.failedReason}`)).toEqual([]);
    }
    const store = createStore(f.config.store);
    try {
      for (const [key, cluster] of f.clusters) {
        const current = await store.getCurrent(`h/${key}`);
        expect(passwordOf(current), key).toBe(cluster.password);
        expect(await store.getPending(`h/${key}`), key).toBeUndefined();
        // Both deployments rotated it every round (some rounds joined by the other's adoption).
        expect(cluster.history.length, key).toBeGreaterThan(ROUNDS);
      }
    } finally {
      await store.close();
    }
    const alerts = children.flatMap((c) => c.output.filter((l) => l.startsWith('ALERT ')));
    // Met each other at promote now and then: settled and said so; nothing else to tell a human.
    for (const a of alerts) expect(JSON.parse(a.slice(6)).reason).toBe('conflict-resolved');
  }, 300_000);
});
