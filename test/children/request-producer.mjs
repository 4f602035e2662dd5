// A producer in another service, for tests: plain `bullmq` and the documented contract only (queue
// `requests` under the worker's prefix, job name `rotate`, the documented data); it imports nothing
// of this project. Adds the requests in order, waits for each with BullMQ's own waitUntilFinished,
// and prints `RESULT <json>`: per request its job id, and its return value or failure reason.
// env: REDIS_URL, PREFIX, REQUESTS (JSON array of { name?, data, opts? }), WAIT_MS (default 30000).
import { Queue, QueueEvents } from 'bullmq';

const url = new URL(process.env.REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const prefix = process.env.PREFIX;
const requests = JSON.parse(process.env.REQUESTS);
const waitMs = Number(process.env.WAIT_MS ?? 30_000);

const queue = new Queue('requests', { connection, prefix });
const events = new QueueEvents('requests', { connection, prefix });
await events.waitUntilReady();

const jobs = [];
for (const r of requests) jobs.push(await queue.add(r.name ?? 'rotate', r.data, r.opts ?? {}));
process.stdout.write(`ADDED ${JSON.stringify(jobs.map((j) => j.id))}\n`);

const results = [];
for (const job of jobs) {
  try {
    results.push({
      id: job.id,
      state: 'completed',
      returnvalue: await job.waitUntilFinished(events, waitMs),
    });
  } catch (err) {
    results.push({ id: job.id, state: 'failed', reason: err.message });
  }
}
process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
await events.close();
await queue.close();
