import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file-trail.js';
import { readAuditTrail } from '../../src/audit/read.js';
import type { AuditEvent, AuditSink } from '../../src/audit/types.js';
import { startHttpServer } from '../../src/http/server.js';
import { metricsAuditSink } from '../../src/metrics/audit-sink.js';
import { createRotatorMetrics, queueCountsOf } from '../../src/metrics/registry.js';
import { mixedRun } from '../audit/mixed-run.js';
import { memoryLogger, recordingControl, STATUSES } from '../http/support.js';
import { parsePrometheusText, sampleValue } from '../support/prom-parse.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const TOKEN = 'metrics-token-5e0d1c';

let connection: Redis;
let queue: Queue;
let dir: string;

beforeAll(async () => {
  connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queue = new Queue(uniquePrefix('metrics-rotations'), { connection, prefix: uniquePrefix('bull') });
  dir = await mkdtemp(join(tmpdir(), 'metrics-'));
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  await rm(dir, { recursive: true, force: true });
});

describe('metrics', () => {
  it('/metrics shows the counts of a mixed run fed through the audit sink, and the gauges at scrape time', async () => {
    await queue.addBulk([
      { name: 'rotate', data: { targetId: 'a' } },
      { name: 'rotate', data: { targetId: 'b' } },
      { name: 'rotate', data: { targetId: 'c' }, opts: { delay: 60_000 } },
      // rotations carry a priority: a prioritized job is waiting too
      { name: 'rotate', data: { targetId: 'd' }, opts: { priority: 10 } },
    ]);
    const control = recordingControl();
    const metrics = createRotatorMetrics({
      statuses: () => control.statuses(),
      queueCounts: queueCountsOf([queue]),
    });
    const trail = await openFileAuditTrail({ path: join(dir, 'audit.jsonl') });
    const sink = metricsAuditSink(metrics, trail);
    for (const event of mixedRun().events) await sink.append(event);
    await sink.close();
    // The sink wrote through: the trail has every event.
    expect((await readAuditTrail(trail.path)).records).toHaveLength(mixedRun().events.length);

    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      control,
      ready: async () => {},
      registry: metrics.registry,
      queues: [queue],
      logger: memoryLogger(),
    });
    try {
      const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      const m = parsePrometheusText(await res.text());

      expect(m.get('rotator_rotations_total')?.type).toBe('counter');
      expect(
        sampleValue(m, 'rotator_rotations_total', { provider: 'huaweicloud-css', outcome: 'succeeded' }),
      ).toBe(2);
      expect(sampleValue(m, 'rotator_rotations_total', { provider: 'ncp-cdss', outcome: 'succeeded' })).toBe(
        1,
      );
      expect(sampleValue(m, 'rotator_rotations_total', { provider: 'otc-css', outcome: 'failed' })).toBe(1);
      expect(
        sampleValue(m, 'rotator_rotations_total', { provider: 'otc-css', outcome: 'succeeded' }),
      ).toBeUndefined();
      const total = m.get('rotator_rotations_total')!.samples.reduce((n, s) => n + s.value, 0);
      expect(total).toBe(4);

      expect(m.get('rotator_rotation_duration_seconds')?.type).toBe('histogram');
      const hw = { provider: 'huaweicloud-css' };
      expect(sampleValue(m, 'rotator_rotation_duration_seconds_count', hw)).toBe(2);
      expect(sampleValue(m, 'rotator_rotation_duration_seconds_sum', hw)).toBeCloseTo(21.2 + 400, 6);
      expect(sampleValue(m, 'rotator_rotation_duration_seconds_bucket', { ...hw, le: '30' })).toBe(1);
      expect(sampleValue(m, 'rotator_rotation_duration_seconds_bucket', { ...hw, le: '600' })).toBe(2);
      expect(sampleValue(m, 'rotator_rotation_duration_seconds_count', { provider: 'otc-css' })).toBe(1);

      expect(sampleValue(m, 'rotator_last_success_timestamp_seconds', { target: 'cdss-prod' })).toBe(
        STATUSES[0]!.lastSuccessAt! / 1000,
      );
      expect(
        sampleValue(m, 'rotator_last_success_timestamp_seconds', { target: 'otc-search' }),
      ).toBeUndefined();
      expect(sampleValue(m, 'rotator_overdue_targets')).toBe(2);

      expect(sampleValue(m, 'rotator_queue_jobs', { state: 'waiting' })).toBe(3);
      expect(sampleValue(m, 'rotator_queue_jobs', { state: 'delayed' })).toBe(1);
      expect(sampleValue(m, 'rotator_queue_jobs', { state: 'active' })).toBe(0);
      expect(sampleValue(m, 'rotator_queue_jobs', { state: 'failed' })).toBe(0);
      expect(sampleValue(m, 'rotator_queue_jobs', { state: 'completed' })).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('counts an event only after the inner sink wrote it', async () => {
    const metrics = createRotatorMetrics();
    const failing: AuditSink = {
      append: () => Promise.reject(new Error('disk full')),
      close: async () => {},
    };
    const event: AuditEvent = {
      type: 'rotation-succeeded',
      rotationId: 'r',
      targetId: 't',
      provider: 'otc-css',
      trigger: 'cli',
      actor: 'me',
      attempt: 1,
      durationMs: 1000,
    };
    await expect(metricsAuditSink(metrics, failing).append(event)).rejects.toThrow('disk full');
    const m = parsePrometheusText(await metrics.registry.metrics());
    expect(m.get('rotator_rotations_total')!.samples).toEqual([]);
  });

  it('shows unknown (NaN or no sample) when a scrape callback fails, and reports the error', async () => {
    const errors: string[] = [];
    const metrics = createRotatorMetrics({
      statuses: () => Promise.reject(new Error('redis down')),
      queueCounts: () => Promise.reject(new Error('redis down')),
      onCollectError: (metric) => errors.push(metric),
    });
    const m = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleValue(m, 'rotator_overdue_targets')).toBeNaN();
    expect(m.get('rotator_last_success_timestamp_seconds')!.samples).toEqual([]);
    expect(m.get('rotator_queue_jobs')!.samples).toEqual([]);
    // One statuses() call per scrape serves both target gauges.
    expect(errors.sort()).toEqual(['queueCounts', 'statuses']);
  });
});
