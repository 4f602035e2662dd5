import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_CLUSTERS } from '../../src/demo/run.js';
import { waitForRotations } from '../../src/queue/wait.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterAll(async () => {
  await h?.close();
});

/** Every key of the Redis database and every value in it, read by type. */
async function dumpRedis(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat());
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(...(await redis.smembers(key)));
      else if (type === 'zset') out.push(...(await redis.zrange(key, 0, '-1', 'WITHSCORES')));
      else if (type === 'stream')
        for (const [id, fields] of await redis.xrange(key, '-', '+')) out.push(id, ...fields);
    }
  } while (cursor !== '0');
  return out;
}

describe('after a demo-sized run', () => {
  it('no generated password is in Redis, the logs, the alerts or the audit trail', async () => {
    h = await startHarness({
      clusters: DEMO_CLUSTERS.map((c) => ({ key: c.key, provider: c.provider, faults: [...c.faults] })),
    });
    const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'demo', actor: 'demo' });
    const outcomes = await waitForRotations(h.runtime.queues.rotations, enqueued, {
      timeoutMs: 60_000,
      pollMs: 100,
    });
    await h.components.flushAlerts(5_000);
    expect(outcomes.filter((o) => o.outcome === 'succeeded').length).toBe(
      DEMO_CLUSTERS.filter((c) => c.expect === 'succeeded').length,
    );
    expect(h.alerts.length).toBeGreaterThan(0);

    const generated = [...h.clusters.values()].flatMap((c) => c.history.slice(1));
    expect(generated.length).toBeGreaterThanOrEqual(outcomes.length - 1);
    const haystacks: [string, string][] = [
      ['redis', (await dumpRedis(h.redis)).join('\n')],
      ['logs', h.logs.join('')],
      ['alerts', JSON.stringify(h.alerts)],
      ['audit', await readFile(h.config.audit.path, 'utf8')],
    ];
    expect(h.logs.length).toBeGreaterThan(10);
    for (const password of generated) {
      for (const [where, text] of haystacks) {
        expect(text.includes(password), `a generated password found in ${where}`).toBe(false);
        expect(
          text.includes(JSON.stringify(password).slice(1, -1)),
          `a generated password (escaped) in ${where}`,
        ).toBe(false);
      }
    }
  }, 90_000);
});
