import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_NAMES, QUEUE_NAMES, type RotateJobData } from '../../src/queue/definitions.js';
import { enqueueRotation } from '../../src/queue/enqueue.js';
import { rotatorKey } from '../../src/queue/queues.js';
import { TargetLeases } from '../../src/queue/lease.js';
import { versionToken } from '../../src/rotation/token.js';
import { createStore } from '../../src/secrets/index.js';
import type { BuiltComponents } from '../../src/worker/components.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { type Fleet, type Harness, startHarness } from './harness.js';
import { until } from './until.js';
import type { Redis } from 'ioredis';
import { passwordOf } from '../support/secret-text.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close().catch(() => undefined);
  h = undefined;
});

const KEEP = { keepCompleted: 600_000, keepFailed: 600_000 };

/** Stages `password` as a pending version created `ageMs` ago, as a run that is gone left it. */
async function leavePending(
  fleet: Fleet,
  targetId: string,
  password: string,
  ageMs: number,
  rotationId = `gone-${randomUUID()}`,
): Promise<string> {
  const path = fleet.config.store.type === 'file' ? fleet.config.store.path : '';
  const store = createStore({ type: 'file', path }, { now: () => Date.now() - ageMs });
  const current = await store.getCurrent(`h/${targetId}`);
  const base: Record<string, unknown> = current
    ? (JSON.parse(current.text) as Record<string, unknown>)
    : { username: 'admin', engine: 'otc-css' };
  const value = JSON.stringify({ ...base, password });
  const token = versionToken({ targetId, rotationId, generation: 0 });
  await store.stagePending(`h/${targetId}`, token, value, { expectPending: null });
  await store.close();
  return token;
}

/** Sets the cluster's password through the cloud's own reset API (what a run that applied it did). */
async function applyOnCloud(components: BuiltComponents, targetId: string, password: string) {
  const t = components.targets.get(targetId)!;
  await t.provider.reset(t.providerTarget, password, { timeoutMs: 5_000 });
}

async function drained(harness: Harness) {
  await until(
    'the rotations queue to drain',
    async () => {
      const counts = await harness.runtime.queues.rotations.getJobCounts('active', 'waiting', 'delayed');
      return Object.values(counts).every((n) => n === 0);
    },
    40_000,
    100,
  );
}

async function expectAgree(harness: Harness, targetIds: string[]) {
  for (const id of targetIds) {
    const current = await harness.components.store.getCurrent(`h/${id}`);
    expect(passwordOf(current), `${id}: the store's current is the cluster's password`).toBe(
      harness.clusters.get(id)!.password,
    );
    expect(await harness.components.store.getPending(`h/${id}`), `${id}: no pending left`).toBeUndefined();
  }
}

describe('the target lease', () => {
  it('grants one holder at a time with a growing fencing token, renews, and ends when its holder stops', async () => {
    const redis = createRedisConnection(redisUrl());
    const leases = new TargetLeases(redis, uniquePrefix('lease'), 1_000);
    try {
      const first = await leases.acquire('t1', 'run-a');
      expect(first.acquired).toBe(true);
      const second = await leases.acquire('t1', 'run-b');
      expect(second).toMatchObject({ acquired: false });
      if (second.acquired || !first.acquired) throw new Error('unreachable');
      expect(second.retryInMs).toBeGreaterThan(0);
      expect(second.retryInMs).toBeLessThanOrEqual(1_000);
      expect(await leases.isHeld('t1')).toBe(true);
      expect(await first.lease.renew()).toBe(true);
      expect(await first.lease.check()).toBe(true);
      // Another target is independent.
      expect((await leases.acquire('t2', 'run-c')).acquired).toBe(true);
      // The holder dies (stops renewing): the lease ends by itself, and the next grant is fenced higher.
      await until('the lease to expire', async () => !(await leases.isHeld('t1')), 10_000, 50);
      expect(await first.lease.check()).toBe(false);
      expect(await first.lease.renew()).toBe(false);
      const third = await leases.acquire('t1', 'run-b');
      if (!third.acquired) throw new Error('expected the lease');
      expect(third.lease.token).toBeGreaterThan(first.lease.token);
      // The old holder's release does not free the new holder's lease.
      await first.lease.release();
      expect(await third.lease.check()).toBe(true);
      await third.lease.release();
      expect(await leases.isHeld('t1')).toBe(false);
    } finally {
      await redis.quit();
    }
  });

  it('jobs of one target added by hand (other ids, no deduplication) never run at once; all finish without an alert', async () => {
    const inflight = new Map<string, Set<string>>();
    let most = 0;
    h = await startHarness({
      clusters: [{ key: 'lease-1' }, { key: 'lease-2' }],
      runtime: {
        afterStep: (e) => {
          const set = inflight.get(e.targetId) ?? new Set<string>();
          inflight.set(e.targetId, set);
          if (e.step === 'stage' && e.outcome !== 'failed' && e.outcome !== 'skipped') set.add(e.rotationId);
          most = Math.max(most, set.size);
          if (e.step === 'promote' || e.outcome === 'failed') set.delete(e.rotationId);
        },
      },
    });
    const harness = h;
    const ids: string[] = [];
    for (const targetId of ['lease-1', 'lease-2']) {
      ids.push(
        (
          await enqueueRotation(
            harness.runtime.queues,
            { targetId, trigger: 'cli', actor: 't' },
            { keep: KEEP },
          )
        ).jobId,
      );
      for (let i = 0; i < 3; i++) {
        // What Bull Board's "add job"/"duplicate", or a script, does: a job of its own, no deduplication.
        const data: RotateJobData = {
          targetId,
          trigger: 'api',
          actor: 'by-hand',
          requestedAt: Date.now(),
          attempt: 0,
          failures: 0,
          busyMs: 0,
        };
        const job = await harness.runtime.queues.rotations.add(JOB_NAMES.rotate, data, {
          jobId: `by-hand-${targetId}-${i}`,
          attempts: 1,
        });
        ids.push(job.id!);
      }
    }
    await drained(harness);
    const states = await Promise.all(ids.map((id) => harness.runtime.queues.rotations.getJobState(id)));
    expect(states.every((s) => s === 'completed')).toBe(true);
    expect(most).toBe(1);
    expect(harness.logs.some((l) => l.includes('another run holds the target lease'))).toBe(true);
    await harness.components.flushAlerts(2_000);
    expect(harness.alerts).toEqual([]);
    await expectAgree(harness, ['lease-1', 'lease-2']);
  }, 60_000);
});

describe('orphaned pending versions on a Redis that kept its data', () => {
  it('are finished after a worker start, applied or not, with no human', async () => {
    const pw = {
      applied: `Orphan-Applied-${randomUUID().slice(0, 8)}-Aa1!`,
      staged: `Orphan-Staged-${randomUUID().slice(0, 8)}-Aa1!`,
    };
    h = await startHarness({
      clusters: [{ key: 'orphan-applied' }, { key: 'orphan-staged' }, { key: 'orphan-none' }],
      beforeStart: async (fleet, components) => {
        // A worker ran against this Redis before: its data is all there.
        await fleet.redis.set(rotatorKey(fleet.prefix, 'epoch'), 'earlier-worker');
        await leavePending(fleet, 'orphan-applied', pw.applied, 60_000);
        await applyOnCloud(components, 'orphan-applied', pw.applied);
        await leavePending(fleet, 'orphan-staged', pw.staged, 60_000);
      },
    });
    const harness = h;
    const swept = await harness.runtime.lastSweep;
    expect(swept.map((s) => s.targetId).sort()).toEqual(['orphan-applied', 'orphan-staged']);
    await drained(harness);
    await expectAgree(harness, ['orphan-applied', 'orphan-staged']);
    expect(harness.clusters.get('orphan-applied')!.password).toBe(pw.applied);
    expect(harness.clusters.get('orphan-staged')!.password).toBe(pw.staged);
    // A target without a pending version was left alone.
    expect(await harness.components.store.getCurrent('h/orphan-none')).toBeUndefined();
  }, 60_000);

  it('are finished after a watchdog pass: one left by a job removed by hand, one applied', async () => {
    h = await startHarness({ clusters: [{ key: 'wd-removed' }, { key: 'wd-applied' }] });
    const harness = h;
    await harness.runtime.lastSweep;
    // A rotation job an operator removed by hand after it staged its password.
    const job = await harness.runtime.queues.rotations.add(
      JOB_NAMES.rotate,
      {
        targetId: 'wd-removed',
        trigger: 'api',
        actor: 't',
        requestedAt: Date.now(),
        attempt: 1,
        failures: 1,
        busyMs: 0,
      },
      { jobId: `removed-${randomUUID().slice(0, 8)}`, delay: 3_600_000 },
    );
    const removedPw = `Removed-${randomUUID().slice(0, 8)}-Aa1!`;
    await leavePending(harness, 'wd-removed', removedPw, 60_000, job.id);
    await job.remove();
    const appliedPw = `Applied-${randomUUID().slice(0, 8)}-Aa1!`;
    await leavePending(harness, 'wd-applied', appliedPw, 60_000);
    await applyOnCloud(harness.components, 'wd-applied', appliedPw);
    // Nothing in the queue would ever finish these.
    const left = await harness.runtime.queues.rotations.getJobCounts('waiting', 'delayed', 'active');
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    await harness.runtime.queues.triggers.add(JOB_NAMES.watchdog, {});
    await until(
      'the watchdog to enqueue rotations',
      async () => {
        const c = await harness.runtime.queues.rotations.getJobCounts('completed');
        return (c.completed ?? 0) >= 2;
      },
      40_000,
      100,
    );
    await drained(harness);
    await expectAgree(harness, ['wd-removed', 'wd-applied']);
    expect(harness.clusters.get('wd-removed')!.password).toBe(removedPw);
    expect(harness.clusters.get('wd-applied')!.password).toBe(appliedPw);
  }, 60_000);

  it('a job failed after stalls is alerted and its pending version finished', async () => {
    const pw = `Stalled-${randomUUID().slice(0, 8)}-Aa1!`;
    let stalledJob = '';
    h = await startHarness({
      clusters: [{ key: 'stalled-1' }],
      runtime: { maxStalledCount: 0, lockDuration: 1_000, stalledInterval: 500 },
      beforeStart: async (fleet) => {
        // A worker that takes the job, stages a password, then dies without a word (its lock runs out).
        const connection = (fleet.redis as Redis).duplicate({ maxRetriesPerRequest: null });
        let staged!: () => void;
        const stagedP = new Promise<void>((r) => (staged = r));
        const dying = new Worker<RotateJobData>(
          QUEUE_NAMES.rotations,
          async (job) => {
            await leavePending(fleet, job.data.targetId, pw, 60_000, job.id);
            staged();
            await new Promise(() => undefined);
          },
          { connection, prefix: fleet.prefix, lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 0 },
        );
        const queues = (await import('../../src/queue/queues.js')).openQueues(fleet.redis, fleet.prefix);
        stalledJob = (
          await enqueueRotation(queues, { targetId: 'stalled-1', trigger: 'cli', actor: 't' }, { keep: KEEP })
        ).jobId;
        await stagedP;
        await dying.close(true);
        connection.disconnect();
        await queues.close();
      },
    });
    const harness = h;
    await until(
      'the stalled job to fail',
      async () => (await harness.runtime.queues.rotations.getJobState(stalledJob)) === 'failed',
      30_000,
      100,
    );
    await until('the stalled alert', async () => {
      await harness.components.flushAlerts(500);
      return harness.alerts.some((a) => a.targetId === 'stalled-1' && /stalled/.test(a.summary));
    });
    await until(
      'the pending version to be finished',
      async () => (await harness.components.store.getPending('h/stalled-1')) === undefined,
      40_000,
      100,
    );
    await drained(harness);
    await expectAgree(harness, ['stalled-1']);
    expect(harness.clusters.get('stalled-1')!.password).toBe(pw);
    const alert = harness.alerts.find((a) => /stalled/.test(a.summary))!;
    expect(alert.summary).toMatch(/pending password/);
  }, 60_000);
});

describe('a promote conflict in the worker', () => {
  it('is never retried blindly: a fresh round re-applies and promotes, and the alert says so', async () => {
    const other = `Other-Writer-${randomUUID().slice(0, 8)}-Aa1!`;
    const otherToken = randomUUID();
    h = await startHarness({
      clusters: [{ key: 'cf-1' }],
      wrapComponents: (c) => {
        const inner = c.store;
        let interfered = false;
        c.store = {
          ...inner,
          promote: async (secretId, versionId, opts) => {
            if (!interfered) {
              // A writer that ignores the protocol (an old version, a script) takes AWSPENDING and
              // promotes its own password, without touching the cluster.
              interfered = true;
              const current = await inner.getCurrent(secretId);
              const base: Record<string, unknown> = current
                ? (JSON.parse(current.text) as Record<string, unknown>)
                : { username: 'admin', engine: 'otc-css' };
              await inner.stagePending(secretId, otherToken, JSON.stringify({ ...base, password: other }));
              await inner.promote(secretId, otherToken);
            }
            return inner.promote(secretId, versionId, opts);
          },
        };
        return c;
      },
    });
    const harness = h;
    const [enqueued] = await harness.runtime.control.rotate({
      targets: ['cf-1'],
      trigger: 'cli',
      actor: 't',
    });
    await until(
      'the rotation to finish',
      async () => (await harness.runtime.queues.rotations.getJobState(enqueued!.jobId)) === 'completed',
      40_000,
      100,
    );
    const job = await harness.runtime.queues.rotations.getJob(enqueued!.jobId);
    expect(job?.data.round).toBe(1);
    await expectAgree(harness, ['cf-1']);
    expect(harness.clusters.get('cf-1')!.password).not.toBe(other);
    await harness.components.flushAlerts(2_000);
    const conflict = harness.alerts.find((a) => a.reason === 'conflict');
    expect(conflict?.summary).toMatch(/a fresh rotation re-applies the store's pending value/);
    expect(conflict?.details.kind).toBe('conflict');
  }, 60_000);
});
