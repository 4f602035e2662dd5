import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { params, runChild, send } from './protocol.js';

/** The BullMQ floor: a worker whose processor does nothing. Runs until SIGTERM. */
interface Params {
  redisUrl: string;
  prefix: string;
  queue: string;
  concurrency: number;
}

runChild(async () => {
  const p = params<Params>();
  const connection = new Redis(p.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(p.queue, async () => undefined, {
    connection,
    prefix: p.prefix,
    concurrency: p.concurrency,
  });
  await worker.waitUntilReady();
  await send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await worker.close();
  await connection.quit();
  return { maxRssBytes: process.resourceUsage().maxRSS * 1024 };
});
