import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { params, runChild } from './protocol.js';

/** The BullMQ floor for schedules: upsert one job scheduler per target, `parallelism` at a time. */
interface Params {
  redisUrl: string;
  prefix: string;
  queue: string;
  targets: number;
  parallelism: number;
}

async function upsertAll(queue: Queue, n: number, parallelism: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await queue.upsertJobScheduler(
        `rotate-t${i}`,
        { pattern: '0 3 1 * *', tz: 'UTC' },
        { name: 'scheduled-rotation', data: { targetId: `t${i}` } },
      );
    }
  };
  await Promise.all(Array.from({ length: parallelism }, lane));
}

runChild(async () => {
  const p = params<Params>();
  const connection = new Redis(p.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(p.queue, { connection, prefix: p.prefix });
  await queue.waitUntilReady();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await upsertAll(queue, p.targets, p.parallelism);
  const coldMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const t1 = performance.now();
  await upsertAll(queue, p.targets, p.parallelism);
  const warmMs = performance.now() - t1;
  const count = await queue.getJobSchedulersCount();
  await queue.close();
  await connection.quit();
  return {
    coldMs,
    warmMs,
    coldCpuMs: (c1.user + c1.system) / 1000,
    schedulers: count,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
});
