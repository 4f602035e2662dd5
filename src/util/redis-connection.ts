import type { Cluster, Redis } from 'ioredis';

/**
 * One Redis server (standalone or behind Sentinel) or a Redis Cluster: BullMQ takes either. The type
 * lives here, below every layer that holds a connection (alerts, queue, worker); only src/queue
 * opens one (src/queue/connection.ts).
 */
export type RedisConnection = Redis | Cluster;
