import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/definitions.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import { enqueueRotation } from '../../src/queue/enqueue.js';
import { openQueues, type RotatorQueues } from '../../src/queue/queues.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { until } from '../worker/until.js';

const keep = { keepCompleted: 60_000, keepFailed: 60_000 };
let q: RotatorQueues | undefined;

afterEach(async () => {
  if (!q) return;
  await q.rotations.obliterate({ force: true });
  await q.close();
  await q.connection.quit();
  q = undefined;
});

describe('enqueueRotation', () => {
  it('joins a waiting rotation of the same target instead of adding a second one', async () => {
    q = openQueues(createRedisConnection(redisUrl()), uniquePrefix('enqueue'));
    const a = await enqueueRotation(q, { targetId: 'x', trigger: 'cli', actor: 'alice' }, { keep });
    const b = await enqueueRotation(q, { targetId: 'x', trigger: 'schedule', actor: 'scheduler' }, { keep });
    const c = await enqueueRotation(q, { targetId: 'y', trigger: 'api', actor: 'bob' }, { keep });
    expect(a.deduplicated).toBe(false);
    expect(b).toEqual({ targetId: 'x', jobId: a.jobId, deduplicated: true });
    expect(c.deduplicated).toBe(false);
    expect(c.jobId).not.toBe(a.jobId);
    // every rotation carries a priority (normal), so it waits in the prioritized set
    expect(await q.rotations.getJobCountByTypes('waiting', 'prioritized')).toBe(2);
    const job = await q.rotations.getJob(a.jobId);
    // ids, trigger, actor and counters only
    expect(job?.data).toEqual({
      targetId: 'x',
      trigger: 'cli',
      actor: 'alice',
      requestedAt: expect.any(Number),
      attempt: 0,
      failures: 0,
      busyMs: 0,
    });
  });

  it('keeps deduplicating while the rotation is active or delayed for a retry, not after it ends', async () => {
    const prefix = uniquePrefix('enqueue-life');
    q = openQueues(createRedisConnection(redisUrl()), prefix);
    const queues = q;
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = await enqueueRotation(queues, { targetId: 'x', trigger: 'cli', actor: 'a' }, { keep });
    let runs = 0;
    const worker = new Worker(
      QUEUE_NAMES.rotations,
      async (job, token) => {
        seen.push(job.id!);
        runs++;
        if (runs === 1) {
          // while active: a new request joins this job
          const joined = await enqueueRotation(
            queues,
            { targetId: 'x', trigger: 'api', actor: 'b' },
            { keep },
          );
          expect(joined).toEqual({ targetId: 'x', jobId: job.id, deduplicated: true });
          await job.moveToDelayed(Date.now() + 200, token);
          // while delayed for the retry: still joined
          const joined2 = await enqueueRotation(
            queues,
            { targetId: 'x', trigger: 'api', actor: 'b' },
            { keep },
          );
          expect(joined2.jobId).toBe(job.id);
          const { DelayedError } = await import('bullmq');
          throw new DelayedError();
        }
        release();
        return 'done';
      },
      { connection: queues.connection, prefix },
    );
    try {
      await gate;
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([first.jobId, first.jobId]);
      expect(await queues.rotations.getJobState(first.jobId)).toBe('completed');
      const next = await enqueueRotation(queues, { targetId: 'x', trigger: 'cli', actor: 'a' }, { keep });
      expect(next.deduplicated).toBe(false);
      expect(next.jobId).not.toBe(first.jobId);
    } finally {
      await worker.close();
    }
  });

  it('repairs a deduplication key whose job is gone', async () => {
    q = openQueues(createRedisConnection(redisUrl()), uniquePrefix('enqueue-stale'));
    await q.connection.set(`${q.rotations.keys.de}:x`, 'rot-x-gone');
    const r = await enqueueRotation(q, { targetId: 'x', trigger: 'cli', actor: 'a' }, { keep });
    expect(r.deduplicated).toBe(false);
    expect(await q.rotations.getDeduplicationJobId('x')).toBe(r.jobId);
  });

  it('rotation ids are unique per request and valid BullMQ custom ids', async () => {
    q = openQueues(createRedisConnection(redisUrl()), uniquePrefix('enqueue-ids'));
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await enqueueRotation(q, { targetId: `t${i}`, trigger: 'cli', actor: 'a' }, { keep });
      expect(r.jobId).toMatch(/^rot-t\d+-[0-9a-z]+-[0-9a-f]{8}$/);
      ids.add(r.jobId);
    }
    expect(ids.size).toBe(20);
  });

  it('runs urgent rotations before normal ones queued earlier; an urgent request raises the one it joins', async () => {
    const prefix = uniquePrefix('enqueue-prio');
    q = openQueues(createRedisConnection(redisUrl()), prefix);
    const queues = q;
    const add = (targetId: string, priority: 'normal' | 'urgent', actor = 'a') =>
      enqueueRotation(queues, { targetId, trigger: 'schedule', actor, priority }, { keep });
    const n1 = await add('n1', 'normal');
    const n2 = await add('n2', 'normal');
    const n3 = await add('n3', 'normal');
    const u1 = await add('u1', 'urgent');
    // joins n3 and raises it: it now runs after u1 (same priority, raised later), before n1 and n2
    const joined = await add('n3', 'urgent', 'incident-bot');
    expect(joined).toEqual({ targetId: 'n3', jobId: n3.jobId, deduplicated: true });
    // a normal request never lowers an urgent rotation
    expect((await add('u1', 'normal')).jobId).toBe(u1.jobId);
    expect((await queues.rotations.getJob(u1.jobId))?.priority).toBe(1);
    expect((await queues.rotations.getJob(n3.jobId))?.priority).toBe(1);
    expect((await queues.rotations.getJob(n1.jobId))?.priority).toBe(10);
    // the joined job keeps its own provenance (the request's is recorded by its caller)
    expect((await queues.rotations.getJob(n3.jobId))?.data.actor).toBe('a');

    const order: string[] = [];
    const worker = new Worker(
      QUEUE_NAMES.rotations,
      async (job) => {
        order.push(job.data.targetId as string);
      },
      { connection: queues.connection, prefix, concurrency: 1 },
    );
    try {
      await until('four rotations to run', () => order.length === 4);
    } finally {
      await worker.close();
    }
    expect(order).toEqual(['u1', 'n3', 'n1', 'n2']);
    expect(n2.deduplicated).toBe(false);
  });
});
