// Hammers one rate-limiter key from its own process and connection; prints the grant times as JSON.
// argv: redisUrl prefix key max per count concurrency
import { Redis } from 'ioredis';
import { createRateLimiter } from '../../dist/src/queue/rate-limit.js';

const [redisUrl, prefix, key, max, per, count, concurrency] = process.argv.slice(2);
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
const limiter = createRateLimiter(redis, { prefix });
const limit = { max: Number(max), per: Number(per) };
const grants = [];
let left = Number(count);
const signal = AbortSignal.timeout(60_000);

async function loop() {
  while (left > 0) {
    left -= 1;
    grants.push(await limiter.acquire(key, limit, signal));
  }
}

try {
  await Promise.all(Array.from({ length: Number(concurrency) }, loop));
  process.stdout.write(JSON.stringify(grants));
} finally {
  redis.disconnect();
}
