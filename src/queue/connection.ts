import { Redis } from 'ioredis';

/**
 * A Redis connection as BullMQ wants it: commands wait through a reconnect instead of failing
 * (maxRetriesPerRequest: null), so a Redis restart pauses the worker rather than failing jobs.
 */
export function createRedisConnection(url: string, name = 'rotator'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}

/** A connection for short-lived clients (CLI): fails fast instead of waiting forever. */
export function createClientConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    lazyConnect: true,
    retryStrategy: (times) => (times > 3 ? null : times * 200),
  });
}
