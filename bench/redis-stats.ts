import type { Redis } from 'ioredis';
import { parseInfo } from './machine.js';

/** Redis server CPU (user + sys, ms) and memory (bytes) from INFO. */
export interface RedisSnapshot {
  cpuMs: number;
  usedMemory: number;
  /** Commands the server has processed (INFO stats total_commands_processed). */
  commands: number;
}

export async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const cpu = parseInfo(await redis.info('cpu'));
  const mem = parseInfo(await redis.info('memory'));
  const stats = parseInfo(await redis.info('stats'));
  const sec = Number(cpu.get('used_cpu_user') ?? NaN) + Number(cpu.get('used_cpu_sys') ?? NaN);
  return {
    cpuMs: sec * 1000,
    usedMemory: Number(mem.get('used_memory') ?? NaN),
    commands: Number(stats.get('total_commands_processed') ?? NaN),
  };
}

/** Deletes every key under `prefix:` (SCAN, never FLUSH: REDIS_URL may point at a shared server). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

/** Calls per command (INFO commandstats), e.g. { evalsha: 1200, rpush: 800 }. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [k, v] of parseInfo(await redis.info('commandstats'))) {
    const m = /calls=(\d+)/.exec(v);
    if (k.startsWith('cmdstat_') && m) out.set(k.slice('cmdstat_'.length), Number(m[1]));
  }
  return out;
}

/** after - before, per command, largest first. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after]
    .map(([k, v]): [string, number] => [k, v - (before.get(k) ?? 0)])
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1]);
}
