import { afterEach, describe, expect, it } from 'vitest';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { openQueues } from '../../src/queue/queues.js';
import { createStore } from '../../src/secrets/index.js';
import { createRotationControl } from '../../src/worker/control.js';
import { startWorkerChild, type WorkerChild } from './children.js';
import { type Fleet, startFleet } from './harness.js';
import { until } from './until.js';
import { passwordOf } from '../support/secret-text.js';

const STEPS = ['stage', 'ready', 'apply', 'settle', 'verify', 'promote'] as const;

let fleet: Fleet | undefined;
const children: WorkerChild[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.stop();
  await fleet?.close();
  fleet = undefined;
});

async function login(url: string, username: string, password: string): Promise<number> {
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  await res.body?.cancel();
  return res.status;
}

describe('a worker killed at a step boundary', () => {
  it.each(STEPS)(
    'SIGKILL right after %s: a new worker finishes the rotation, the store holds what the cluster accepts',
    async (step) => {
      fleet = await startFleet({ clusters: [{ key: `crash-${step}` }], busyMs: 200 });
      const f = fleet;
      const cluster = f.clusters.get(`crash-${step}`)!;
      const initial = cluster.password;
      const first = await startWorkerChild(f.config, f.env, f.dir, {
        KILL_AFTER_STEP: step,
        WORKER_LOCK_MS: '1500',
      });
      children.push(first);
      const queues = openQueues(f.redis, f.prefix);
      const control = createRotationControl(f.config, queues, new TargetStateStore(f.redis, f.prefix));
      const [enqueued] = await control.rotate({
        targets: [`crash-${step}`],
        trigger: 'cli',
        actor: 'crash-test',
      });
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');

      const second = await startWorkerChild(f.config, f.env, f.dir, { WORKER_LOCK_MS: '1500' });
      children.push(second);
      await until(
        'the rotation to complete on the second worker',
        async () => (await queues.rotations.getJobState(enqueued!.jobId)) === 'completed',
        30_000,
        100,
      );
      await second.stop();
      await queues.close();

      const store = createStore(f.config.store, { env: f.env });
      try {
        const current = await store.getCurrent(`h/crash-${step}`);
        expect(passwordOf(current)).toBe(cluster.password);
        expect(cluster.password).not.toBe(initial);
        expect(await login(cluster.dataPlaneUrl, cluster.username, passwordOf(current)!)).toBe(200);
        expect(await store.getPending(`h/crash-${step}`)).toBeUndefined();
        // one new password for one rotation, however often it was re-applied
        expect(new Set(cluster.history.slice(1)).size).toBe(1);
        expect(cluster.overlaps).toBe(0);
      } finally {
        await store.close();
      }
    },
    60_000,
  );
});
