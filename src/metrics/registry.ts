import type { Queue } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/types.js';
import type { TargetStatus } from '../rotation/target-status.js';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
export type QueueCounts = Record<QueueState, number>;

/** Seconds; rotations take from seconds (a quick reset) to an hour or more (a busy cluster). */
export const ROTATION_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export interface RotatorMetricsOptions {
  /** Read at scrape time: last success per target and the overdue count (RotationControl.statuses). */
  statuses?: () => Promise<TargetStatus[]>;
  /** Read at scrape time: job counts per state, summed over the rotator's queues. */
  queueCounts?: () => Promise<QueueCounts>;
  /** Told when a scrape-time callback fails (the gauge is then left empty for that scrape). */
  onCollectError?: (metric: string, err: unknown) => void;
  /** Also export Node's process metrics (default false). */
  defaultMetrics?: boolean;
}

export interface RotatorMetrics {
  readonly registry: Registry;
  /**
   * Counts a finished rotation, and a queue request accepted (per rotation) or refused, from its
   * audit event; other events are ignored.
   */
  observe(event: AuditEvent): void;
  /** Counts a store call the store throttled (each one, retried inside the store call or not). */
  storeThrottled(operation: string): void;
}

/** A private prom-client registry holding the rotator's metrics. */
export function createRotatorMetrics(options: RotatorMetricsOptions = {}): RotatorMetrics {
  const registry = new Registry();
  const onError = options.onCollectError ?? (() => {});
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });

  const rotations = new Counter({
    name: 'rotator_rotations_total',
    help: 'Finished rotations by provider and outcome',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'rotator_rotation_duration_seconds',
    help: 'Duration of finished rotations, from start to success or final failure',
    labelNames: ['provider'] as const,
    buckets: ROTATION_DURATION_BUCKETS,
    registers: [registry],
  });

  const requested = new Counter({
    name: 'rotator_queue_rotations_requested_total',
    help: 'Rotations asked for on the requests queue, by whether the request joined one already queued',
    labelNames: ['deduplicated'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'rotator_queue_requests_refused_total',
    help: 'Jobs on the requests queue refused (wrong shape, unknown or disabled target, unknown job name)',
    labelNames: ['problem'] as const,
    registers: [registry],
  });
  for (const problem of ['invalid-request', 'unknown-target', 'disabled-target', 'unknown-job-name']) {
    refused.inc({ problem }, 0);
  }

  const storeThrottled = new Counter({
    name: 'rotator_store_throttled_total',
    help: 'Secret store calls throttled by the store (after the SDK retries), by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  // Both target gauges share one statuses() call per scrape (a scrape starts every collect at once).
  let statusesOfScrape: Promise<TargetStatus[] | undefined> | undefined;
  const scrapeStatuses = () => {
    if (!options.statuses) return Promise.resolve(undefined);
    if (!statusesOfScrape) {
      statusesOfScrape = options.statuses().catch((err: unknown) => {
        onError('statuses', err);
        return undefined;
      });
      setImmediate(() => {
        statusesOfScrape = undefined;
      });
    }
    return statusesOfScrape;
  };

  new Gauge({
    name: 'rotator_last_success_timestamp_seconds',
    help: 'Unix time of the last successful rotation per target',
    labelNames: ['target'] as const,
    registers: [registry],
    async collect() {
      const list = await scrapeStatuses();
      this.reset();
      for (const s of list ?? []) {
        if (s.lastSuccessAt !== undefined) this.set({ target: s.id }, s.lastSuccessAt / 1000);
      }
    },
  });
  new Gauge({
    name: 'rotator_overdue_targets',
    help: 'Targets whose last successful rotation is older than their schedule allows',
    registers: [registry],
    async collect() {
      const list = await scrapeStatuses();
      this.reset();
      // Unknown is NaN, not 0: a failed read must not look like "nothing overdue".
      if (options.statuses) this.set(list ? list.filter((s) => s.overdue).length : Number.NaN);
    },
  });
  new Gauge({
    name: 'rotator_queue_jobs',
    help: 'Jobs in the rotation queues by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!options.queueCounts) return;
      let counts: QueueCounts;
      try {
        counts = await options.queueCounts();
      } catch (err) {
        onError('queueCounts', err);
        return;
      }
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  return {
    registry,
    storeThrottled(operation) {
      storeThrottled.inc({ operation });
    },
    observe(event) {
      if (event.type === 'request-refused') {
        refused.inc({ problem: event.errorKind ?? 'invalid-request' });
        return;
      }
      if (event.type === 'rotation-requested') {
        requested.inc({ deduplicated: String(event.outcome === 'joined') });
        return;
      }
      if (event.type !== 'rotation-succeeded' && event.type !== 'rotation-failed') return;
      const outcome = event.type === 'rotation-succeeded' ? 'succeeded' : 'failed';
      rotations.inc({ provider: event.provider, outcome });
      if (event.durationMs !== undefined && event.durationMs >= 0) {
        duration.observe({ provider: event.provider }, event.durationMs / 1000);
      }
    },
  };
}

/**
 * Sums the job counts of several BullMQ queues (for `queueCounts`). Prioritized jobs (every
 * rotation carries a priority) count as waiting.
 */
export function queueCountsOf(queues: readonly Queue[]): () => Promise<QueueCounts> {
  return async () => {
    const total: QueueCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
    for (const q of queues) {
      const c = await q.getJobCounts(...QUEUE_STATES, 'prioritized');
      for (const state of QUEUE_STATES) total[state] += c[state] ?? 0;
      total.waiting += c.prioritized ?? 0;
    }
    return total;
  };
}
