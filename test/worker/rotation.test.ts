import { afterEach, describe, expect, it } from 'vitest';
import { targetSchedulerId } from '../../src/queue/definitions.js';
import { waitForRotations } from '../../src/queue/wait.js';
import { type Harness, startHarness } from './harness.js';
import { until } from './until.js';
import { passwordOf } from '../support/secret-text.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function login(url: string, username: string, password: string): Promise<number> {
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  await res.body?.cancel();
  return res.status;
}

describe('the worker', () => {
  it('a scheduled rotation fires and completes', async () => {
    h = await startHarness({
      clusters: [{ key: 'sched' }, { key: 'other' }],
      mutate: (config) => {
        config.targets[0]!.schedule = { every: 300 };
      },
    });
    const harness = h;
    const cluster = h.clusters.get('sched')!;
    const initial = cluster.password;
    const state = await until('the scheduled rotation to succeed', async () => {
      const s = (await harness.runtime.state.getMany(['sched'])).get('sched');
      // Every 300 ms: the next run may already have started (lastOutcome 'running') when a poll
      // lands, so wait for a read that shows the success itself.
      return s?.lastSuccessAt && s.lastOutcome === 'succeeded' ? s : undefined;
    });
    const job = await h.runtime.queues.rotations.getJob(state.lastRotationId!);
    expect(job?.data).toMatchObject({ targetId: 'sched', trigger: 'schedule', actor: 'scheduler' });
    const current = await h.components.store.getCurrent('h/sched');
    expect(current?.versionId).toBe(state.lastVersionId);
    expect(cluster.password).not.toBe(initial);
    expect(passwordOf(current)).toBe(cluster.password);
    expect(await login(cluster.dataPlaneUrl, cluster.username, passwordOf(current)!)).toBe(200);
    // the other target's scheduler (the default monthly cron) has not fired
    expect(h.clusters.get('other')!.resetsApplied).toBe(0);
    const schedulers = await h.runtime.queues.triggers.getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual([
      targetSchedulerId('other'),
      targetSchedulerId('sched'),
      'watchdog',
    ]);
    // the job log has one line per step, without the password. Its lines are written in batches, the
    // last before the job completes (the target's state says success a moment earlier).
    await until('the rotation job to complete', async () =>
      (await harness.runtime.queues.rotations.getJobState(state.lastRotationId!)) === 'completed'
        ? true
        : undefined,
    );
    const { logs } = await h.runtime.queues.rotations.getJobLogs(state.lastRotationId!);
    expect(logs.some((l) => l.startsWith('apply ok'))).toBe(true);
    expect(logs.join('\n')).not.toContain(passwordOf(current)!);
  });

  it('an on-demand rotation runs with its trigger and actor, and status shows it', async () => {
    h = await startHarness({
      clusters: [
        { key: 'demand', provider: 'huaweicloud-css' },
        { key: 'ncp', provider: 'ncp-cdss' },
      ],
    });
    const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'alice' });
    const outcomes = await waitForRotations(h.runtime.queues.rotations, enqueued, {
      timeoutMs: 20_000,
      pollMs: 50,
    });
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded', 'succeeded']);
    for (const key of ['demand', 'ncp']) {
      const cluster = h.clusters.get(key)!;
      const current = await h.components.store.getCurrent(`h/${key}`);
      expect(passwordOf(current)).toBe(cluster.password);
      expect(JSON.parse(current!.text)).toMatchObject({ username: cluster.username });
    }
    const statuses = await h.runtime.control.statuses();
    expect(statuses.map((s) => [s.id, s.lastOutcome, s.overdue])).toEqual([
      ['demand', 'succeeded', false],
      ['ncp', 'succeeded', false],
    ]);
    const audit = await import('node:fs/promises').then((fs) => fs.readFile(h!.config.audit.path, 'utf8'));
    const events = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = events.filter((e) => e.rotationId === enqueued[0]!.jobId);
    expect(mine.map((e) => e.type)).toEqual([
      'rotation-started',
      ...mine.filter((e) => e.type === 'step').map(() => 'step'),
      'rotation-succeeded',
    ]);
    expect(mine.every((e) => e.trigger === 'cli' && e.actor === 'alice')).toBe(true);
  });

  it('scheduled and on-demand triggers at once give one rotation at a time per target', async () => {
    h = await startHarness({
      clusters: [{ key: 'busy-target' }],
      busyMs: 300,
      mutate: (config) => {
        config.targets[0]!.schedule = { every: 200 };
      },
    });
    const harness = h;
    const joined: boolean[] = [];
    const jobIds = new Set<string>();
    const stopAt = Date.now() + 3_000;
    while (Date.now() < stopAt) {
      const [r] = await harness.runtime.control.rotate({
        targets: ['busy-target'],
        trigger: 'api',
        actor: 'ops',
      });
      joined.push(r!.deduplicated);
      jobIds.add(r!.jobId);
      await new Promise((res) => setTimeout(res, 40));
    }
    const cluster = h.clusters.get('busy-target')!;
    // Stop the schedule, then wait until nothing is left to run: a scheduled rotation that started
    // after the last on-demand one would otherwise be counted half done (reset, not completed).
    await harness.runtime.queues.triggers.removeJobScheduler(targetSchedulerId('busy-target'));
    const last = [...jobIds].at(-1)!;
    await until('the last rotation to finish', async () =>
      ['completed', 'failed'].includes(await harness.runtime.queues.rotations.getJobState(last)),
    );
    await until('no rotation or trigger left to run', async () => {
      const [rotations, triggers] = await Promise.all([
        harness.runtime.queues.rotations.getJobCountByTypes('active', 'waiting', 'delayed', 'prioritized'),
        // the watchdog's scheduler always holds its next run as a delayed job
        harness.runtime.queues.triggers.getJobCountByTypes('active', 'waiting', 'prioritized'),
      ]);
      return rotations === 0 && triggers === 0;
    });
    expect(joined.filter(Boolean).length).toBeGreaterThan(10);
    expect(cluster.overlaps).toBe(0);
    expect(cluster.maxConcurrentResets).toBe(1);
    const completed = await h.runtime.queues.rotations.getJobs(['completed']);
    expect(completed.length).toBeGreaterThanOrEqual(2);
    // one reset per rotation: no rotation ran twice or beside another
    expect(cluster.resetsApplied).toBe(completed.length);
    const current = await h.components.store.getCurrent('h/busy-target');
    expect(passwordOf(current)).toBe(cluster.password);
  });
});
