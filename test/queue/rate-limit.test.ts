import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, defaultGuardMs } from '../../src/queue/rate-limit.js';
import { type RateLimit, rateLimitKey } from '../../src/util/rate-limit.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const run = promisify(execFile);
const hammer = fileURLToPath(new URL('../children/rate-limit-hammer.mjs', import.meta.url));

/** The largest number of grants inside any window of `per` ms (windows ending at a grant are the worst). */
function worstWindow(grants: number[], per: number): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let worst = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= per) start++;
    worst = Math.max(worst, end - start + 1);
  }
  return worst;
}

/** Achieved rate over the run, as a fraction of the limit. */
function utilisation(grants: number[], limit: RateLimit): number {
  const sorted = [...grants].sort((a, b) => a - b);
  const span = sorted.at(-1)! - sorted[0]!;
  // n grants at the limit need (n / max - 1) full windows after the first burst.
  const ideal = (sorted.length / limit.max - 1) * limit.per;
  return ideal / span;
}

describe('createRateLimiter', () => {
  const prefix = uniquePrefix('ratelimit');
  const connections: Redis[] = [];
  const connect = () => {
    const r = new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
    connections.push(r);
    return r;
  };

  beforeAll(() => {
    for (let i = 0; i < 3; i++) connect();
  });

  afterAll(async () => {
    const r = connections[0]!;
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length > 0) await r.del(...keys);
    for (const c of connections) c.disconnect();
  });

  it('the worstWindow helper sees a burst (it can fail)', () => {
    expect(worstWindow([0, 10, 20, 1000, 1010], 100)).toBe(3);
    expect(worstWindow([0, 100, 200], 100)).toBe(1);
  });

  it('never grants more than max in any window, across connections and processes, and keeps up', async () => {
    const limit: RateLimit = { max: 4, per: 250 };
    const key = rateLimitKey('huaweicloud-css', 'AK-shared-account');
    // Three child processes with three concurrent loops each, plus three in-process connections.
    const children = [0, 1, 2].map(() =>
      run(
        process.execPath,
        [hammer, redisUrl(), prefix, key, String(limit.max), String(limit.per), '8', '3'],
        {
          timeout: 60_000,
        },
      ),
    );
    const local = connections.map(async (redis) => {
      const limiter = createRateLimiter(redis, { prefix });
      const grants: number[] = [];
      await Promise.all(
        [0, 1].map(async () => {
          for (let i = 0; i < 4; i++) grants.push(await limiter.acquire(key, limit));
        }),
      );
      return grants;
    });
    const childGrants = (await Promise.all(children)).map((out) => JSON.parse(out.stdout) as number[]);
    const grants = [...childGrants.flat(), ...(await Promise.all(local)).flat()];

    expect(grants).toHaveLength(3 * 8 + 3 * 8);
    expect(childGrants.every((g) => g.length === 8)).toBe(true);
    expect(worstWindow(grants, limit.per)).toBe(limit.max);
    // Not starved: the limiter is used to at least half its capacity despite sleeping contenders.
    expect(utilisation(grants, limit)).toBeGreaterThan(0.5);
  }, 60_000);

  it('spread: spaces grants evenly across connections, one script call each, within max per window', async () => {
    const limit: RateLimit = { max: 10, per: 500, spread: true };
    const guard = 50;
    const spacing = (limit.per + guard) / limit.max;
    const key = 'spread';
    const grants: number[] = [];
    let calls = 0;
    await Promise.all(
      connections.map(async (redis) => {
        const limiter = createRateLimiter(redis, { prefix, guardMs: () => guard });
        const counted = redis as unknown as {
          rotatorRateLimitAcquire: (...a: unknown[]) => Promise<unknown>;
        };
        const original = counted.rotatorRateLimitAcquire.bind(redis);
        counted.rotatorRateLimitAcquire = (...a: unknown[]) => {
          calls++;
          return original(...a);
        };
        await Promise.all(
          [0, 1, 2, 3].map(async () => {
            for (let i = 0; i < 3; i++) grants.push(await limiter.acquire(key, limit));
          }),
        );
        counted.rotatorRateLimitAcquire = original;
      }),
    );
    expect(grants).toHaveLength(36);
    // One reservation per grant: nobody polls.
    expect(calls).toBe(36);
    const sorted = [...grants].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((g, i) => g - sorted[i]!);
    // Slot times come from the Redis clock, µs precision: every gap is one spacing (no burst).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(spacing - 0.01);
    expect(worstWindow(grants, limit.per + guard)).toBeLessThanOrEqual(limit.max);
    // A burst of `max` at once, as without spread, would break the spacing check above.
    expect(worstWindow(grants, spacing)).toBe(1);
  }, 30_000);

  it('keeps keys independent', async () => {
    const limiter = createRateLimiter(connections[0]!, { prefix });
    const limit = { max: 2, per: 60_000 };
    await limiter.acquire('a', limit);
    await limiter.acquire('a', limit);
    // 'a' is full for a minute; 'b' is not.
    await limiter.acquire('b', limit);
    const full = limiter.acquire('a', limit, AbortSignal.timeout(200));
    await expect(full).rejects.toThrow(/timeout|abort/i);
  });

  it('stops waiting when the signal fires', async () => {
    const limiter = createRateLimiter(connections[1]!, { prefix });
    const limit = { max: 1, per: 60_000 };
    await limiter.acquire('abort', limit);
    const ac = new AbortController();
    const waiting = limiter.acquire('abort', limit, ac.signal);
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    await expect(waiting).rejects.toThrow('shutting down');
    // The aborted call took no slot: still exactly one entry.
    expect(await connections[0]!.zcard(`${prefix}:ratelimit:abort`)).toBe(1);
  });

  it('records one unique member per grant and lets the key expire', async () => {
    const limiter = createRateLimiter(connections[2]!, { prefix });
    const limit = { max: 500, per: 1500 };
    await Promise.all(Array.from({ length: 200 }, () => limiter.acquire('many', limit)));
    const redisKey = `${prefix}:ratelimit:many`;
    expect(await connections[0]!.zcard(redisKey)).toBe(200);
    const ttl = await connections[0]!.pttl(redisKey);
    expect(ttl).toBeGreaterThan(0);
    // the key lives one (guarded) window plus a second
    expect(ttl).toBeLessThanOrEqual(limit.per + defaultGuardMs(limit.per) + 1000);
  });

  it('rejects bad limits naming the field', async () => {
    const limiter = createRateLimiter(connections[0]!, { prefix });
    await expect(limiter.acquire('x', { max: 0, per: 1000 })).rejects.toThrow(/rateLimit\.max/);
    await expect(limiter.acquire('x', { max: 1, per: 0.5 })).rejects.toThrow(/rateLimit\.per/);
    await expect(limiter.acquire('', { max: 1, per: 1000 })).rejects.toThrow(/key/);
  });
});

describe('rateLimitKey', () => {
  it('is stable per account, distinct across accounts and providers, and hides the identity', () => {
    const k = rateLimitKey('ncp-cdss', 'AKIA-SECRET-IDENTITY');
    expect(k).toBe(rateLimitKey('ncp-cdss', 'AKIA-SECRET-IDENTITY'));
    expect(k).not.toBe(rateLimitKey('ncp-cdss', 'AKIA-OTHER'));
    expect(k).not.toBe(rateLimitKey('otc-css', 'AKIA-SECRET-IDENTITY'));
    expect(k).toMatch(/^ncp-cdss:[0-9a-f]{32}$/);
    expect(k).not.toContain('AKIA');
  });
});
