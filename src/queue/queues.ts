import { Queue, type Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  QUEUE_NAMES,
  type RotateJobData,
  type RotateJobResult,
  type ScheduledRotationData,
} from '../../jobs/definitions.js';

export type RotationQueue = Queue<RotateJobData, RotateJobResult, string>;
/** Trigger jobs carry `ScheduledRotationData` (target schedulers) or nothing (the watchdog). */
export type TriggerQueue = Queue<Partial<ScheduledRotationData>, void, string>;

export interface RotatorQueues {
  /** BullMQ key prefix (config redis.prefix). */
  prefix: string;
  connection: Redis;
  rotations: RotationQueue;
  triggers: TriggerQueue;
  close(): Promise<void>;
}

/**
 * Opens both queues on one connection; `close()` closes the queues, not the connection.
 * `telemetry` (bullmq-otel, when tracing is on) gives BullMQ's own spans.
 */
export function openQueues(connection: Redis, prefix: string, telemetry?: Telemetry): RotatorQueues {
  const opts = { connection, prefix, ...(telemetry ? { telemetry } : {}) };
  const rotations: RotationQueue = new Queue(QUEUE_NAMES.rotations, opts);
  const triggers: TriggerQueue = new Queue(QUEUE_NAMES.triggers, opts);
  return {
    prefix,
    connection,
    rotations,
    triggers,
    async close() {
      await Promise.all([rotations.close(), triggers.close()]);
    },
  };
}

/** Redis key of something of ours under the BullMQ prefix (never a BullMQ key). */
export function rotatorKey(prefix: string, ...parts: string[]): string {
  return [prefix, 'rotator', ...parts].join(':');
}
