import { Queue, type Telemetry } from 'bullmq';
import type { RedisConnection } from '../util/redis-connection.js';
import {
  QUEUE_NAMES,
  type RotateJobData,
  type RotateJobResult,
  type ScheduledRotationData,
} from './definitions.js';
import type { RotationRequestResult } from '../requests/contract.js';

export type RotationQueue = Queue<RotateJobData, RotateJobResult, string>;
/** Trigger jobs carry `ScheduledRotationData` (target schedulers) or nothing (the watchdog). */
export type TriggerQueue = Queue<Partial<ScheduledRotationData>, void, string>;
/** The public request queue: its data is whatever a producer sent, validated by the worker. */
export type RequestQueue = Queue<unknown, RotationRequestResult, string>;

export interface RotatorQueues {
  /** BullMQ key prefix (config redis.prefix). */
  prefix: string;
  connection: RedisConnection;
  rotations: RotationQueue;
  triggers: TriggerQueue;
  requests: RequestQueue;
  close(): Promise<void>;
}

/**
 * Opens the queues on one connection; `close()` closes the queues, not the connection.
 * `telemetry` (bullmq-otel, when tracing is on) gives BullMQ's own spans.
 */
export function openQueues(
  connection: RedisConnection,
  prefix: string,
  telemetry?: Telemetry,
): RotatorQueues {
  const opts = { connection, prefix, ...(telemetry ? { telemetry } : {}) };
  const rotations: RotationQueue = new Queue(QUEUE_NAMES.rotations, opts);
  const triggers: TriggerQueue = new Queue(QUEUE_NAMES.triggers, opts);
  const requests: RequestQueue = new Queue(QUEUE_NAMES.requests, opts);
  return {
    prefix,
    connection,
    rotations,
    triggers,
    requests,
    async close() {
      await Promise.all([rotations.close(), triggers.close(), requests.close()]);
    },
  };
}

/** Redis key of something of ours under the BullMQ prefix (never a BullMQ key). */
export function rotatorKey(prefix: string, ...parts: string[]): string {
  return [prefix, 'rotator', ...parts].join(':');
}
