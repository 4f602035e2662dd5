import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from '../../src/util/redis-connection.js';

/** Every key of one server's database matching `match` and every value in it, read by type. */
async function dumpServer(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
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

/**
 * Every key matching `match` (default: all) and every value Redis holds: of the one server, or of
 * every master of a cluster.
 */
export async function dumpRedis(redis: RedisConnection, match = '*'): Promise<string[]> {
  if (!(redis instanceof Cluster)) return dumpServer(redis, match);
  const all = await Promise.all(redis.nodes('master').map((node) => dumpServer(node, match)));
  return all.flat();
}
