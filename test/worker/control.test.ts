import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/queue/connection.js';
import { openQueues, type RotatorQueues } from '../../src/queue/queues.js';
import { desiredSchedulers, reconcileSchedulers } from '../../src/queue/reconcile.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import {
  createRotationControl,
  DisabledTargetsError,
  UnknownTargetsError,
} from '../../src/worker/control.js';
import { isOverdue } from '../../src/queue/target-state.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { makeConfig, otcTarget } from './fixtures.js';

let q: RotatorQueues | undefined;
afterEach(async () => {
  if (!q) return;
  await q.rotations.obliterate({ force: true });
  await q.triggers.obliterate({ force: true });
  const keys = await q.connection.keys(`${q.prefix}:*`);
  if (keys.length) await q.connection.del(...keys);
  await q.close();
  await q.connection.quit();
  q = undefined;
});

const DAY = 86_400_000;

describe('RotationControl', () => {
  it('enqueues on demand, joins a queued rotation, and names unknown or disabled ids', async () => {
    const prefix = uniquePrefix('control');
    q = openQueues(createRedisConnection(redisUrl()), prefix);
    const config = makeConfig(prefix, redisUrl(), [
      otcTarget('a'),
      otcTarget('b'),
      otcTarget('off', { enabled: false }),
    ]);
    const control = createRotationControl(config, q, new TargetStateStore(q.connection, prefix));
    const first = await control.rotate({ targets: ['a'], trigger: 'cli', actor: 'alice' });
    const all = await control.rotate({ targets: 'all', trigger: 'api', actor: 'ops' });
    expect(all.map((r) => r.targetId)).toEqual(['a', 'b']);
    expect(all[0]).toEqual({ targetId: 'a', jobId: first[0]!.jobId, deduplicated: true });
    expect(all[1]!.deduplicated).toBe(false);
    await expect(
      control.rotate({ targets: ['a', 'nope', 'zzz'], trigger: 'cli', actor: 'x' }),
    ).rejects.toThrow(new UnknownTargetsError(['nope', 'zzz']));
    await expect(control.rotate({ targets: ['off'], trigger: 'cli', actor: 'x' })).rejects.toBeInstanceOf(
      DisabledTargetsError,
    );
    // every rotation carries a priority (normal), so it waits in the prioritized set
    expect(await q.rotations.getJobCountByTypes('waiting', 'prioritized')).toBe(2);
  });

  it('reports schedule, next run, last success and outcome, and the overdue flag', async () => {
    const prefix = uniquePrefix('status');
    q = openQueues(createRedisConnection(redisUrl()), prefix);
    const config = makeConfig(
      prefix,
      redisUrl(),
      [
        otcTarget('fresh', { schedule: { every: '7d' } }),
        otcTarget('stale', { schedule: { every: '7d' } }),
        otcTarget('queued', { schedule: { cron: '0 3 * * *', tz: 'UTC' } }),
        otcTarget('off', { enabled: false }),
      ],
      { watchdog: { every: '1h', grace: '1d' } },
    );
    await reconcileSchedulers(q.triggers, q.connection, prefix, desiredSchedulers(config));
    const state = new TargetStateStore(q.connection, prefix);
    const now = Date.now();
    await state.markSeen(['fresh', 'stale', 'queued'], now - 30 * DAY);
    await state.recordSuccess('fresh', 'rot-fresh-1', 'v1', now - DAY);
    await state.recordSuccess('stale', 'rot-stale-1', 'v0', now - 9 * DAY);
    await state.recordFailure('stale', 'rot-stale-2', 'precondition', now - DAY, false);
    const control = createRotationControl(config, q, state);
    await control.rotate({ targets: ['queued'], trigger: 'cli', actor: 'a' });
    const byId = new Map((await control.statuses()).map((s) => [s.id, s]));

    expect(byId.get('fresh')).toMatchObject({
      schedule: 'every 7d',
      lastSuccessAt: now - DAY,
      lastOutcome: 'succeeded',
      overdue: false,
    });
    expect(byId.get('fresh')!.nextRunAt).toBeGreaterThan(now);
    expect(byId.get('stale')).toMatchObject({
      lastSuccessAt: now - 9 * DAY,
      lastOutcome: 'failed',
      lastErrorKind: 'precondition',
      overdue: true,
    });
    // never succeeded, first scheduled 30 days ago, daily schedule: overdue; a rotation is waiting
    expect(byId.get('queued')).toMatchObject({
      schedule: 'cron 0 3 * * * (UTC)',
      lastOutcome: 'waiting',
      overdue: true,
    });
    expect(byId.get('off')).toMatchObject({ schedule: 'disabled', overdue: false });
    expect(byId.get('off')!.nextRunAt).toBeUndefined();
  });

  it('isOverdue compares the last success (or first schedule) with the allowed gap plus grace', () => {
    expect(isOverdue({}, DAY, DAY, 0)).toBe(false);
    expect(isOverdue({ since: 0 }, DAY, DAY, 2 * DAY)).toBe(false);
    expect(isOverdue({ since: 0 }, DAY, DAY, 2 * DAY + 1)).toBe(true);
    expect(isOverdue({ since: 0, lastSuccessAt: DAY }, DAY, DAY, 2 * DAY + 1)).toBe(false);
  });
});
