import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES } from '../../src/queue/definitions.js';
import { readAuditTrail } from '../../src/audit/read.js';
import type { AuditRecord } from '../../src/audit/record.js';
import {
  InvalidRotationRequestError,
  requestRotation,
  type RotationRequestResult,
  waitForRotation,
} from '../../src/client/index.js';
import { dumpRedis } from '../support/redis-dump.js';
import { parsePrometheusText, sampleValue } from '../support/prom-parse.js';
import { redisUrl } from '../support/redis.js';
import { type Harness, startHarness } from './harness.js';
import { until } from './until.js';
import { readPassword } from '../../src/secrets/format.js';

const PRODUCER = join(import.meta.dirname, '..', 'children', 'request-producer.mjs');

interface ProducerRequest {
  name?: string;
  data: unknown;
  opts?: Record<string, unknown>;
}
type ProducerResult =
  | { id: string; state: 'completed'; returnvalue: RotationRequestResult }
  | { id: string; state: 'failed'; reason: string };

/** Runs the plain-bullmq producer (another service) and returns what it saw per request. */
function produce(requests: ProducerRequest[]): Promise<ProducerResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRODUCER], {
      env: { ...process.env, REDIS_URL: redisUrl(), PREFIX: h.prefix, REQUESTS: JSON.stringify(requests) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`producer exited ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as ProducerResult[]);
    });
  });
}

function completed(r: ProducerResult | undefined): RotationRequestResult {
  if (r?.state !== 'completed') throw new Error(`request not completed: ${JSON.stringify(r)}`);
  return r.returnvalue;
}

async function trail(): Promise<AuditRecord[]> {
  return (await readAuditTrail(h.config.audit.path)).records;
}

/** Target ids in the order their rotations started (first attempt), per the audit trail. */
async function startOrder(rotationIds: readonly string[]): Promise<string[]> {
  return (await trail())
    .filter((r) => r.type === 'rotation-started' && r.attempt === 1 && rotationIds.includes(r.rotationId))
    .sort((a, b) => a.seq - b.seq)
    .map((r) => r.targetId);
}

const connection = () => {
  const url = new URL(redisUrl());
  return { host: url.hostname, port: Number(url.port) };
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    clusters: [
      { key: 'rq-a' },
      { key: 'rq-b', provider: 'ncp-cdss' },
      { key: 'rq-c' },
      { key: 'rq-d' },
      { key: 'rq-e', provider: 'huaweicloud-css' },
      { key: 'rq-off', target: { enabled: false } },
    ],
    // one rotation at a time: the order in which rotations start is the queue's order
    config: { worker: { concurrency: 1, shutdownTimeout: '5s' } },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('the requests queue, used by another process with plain bullmq', () => {
  it('the producer imports nothing but bullmq', async () => {
    const source = await readFile(PRODUCER, 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['bullmq']);
  });

  it('a request rotates the target: cluster and store change, provenance in the audit trail and job logs', async () => {
    const cluster = h.clusters.get('rq-a')!;
    const before = cluster.password;
    const [result] = await produce([
      { data: { targetId: 'rq-a', actor: 'incident-bot', reason: 'INC-42: credential leaked in a CI log' } },
    ]);
    const value = completed(result);
    expect(value).toEqual({
      version: 1,
      rotations: [{ targetId: 'rq-a', rotationId: expect.stringMatching(/^rot-rq-a-/), deduplicated: false }],
    });
    const rotationId = value.rotations[0]!.rotationId;

    const waited = await waitForRotation(connection(), result!.id, {
      prefix: h.prefix,
      timeoutMs: 30_000,
      pollMs: 50,
    });
    expect(waited).toMatchObject({
      request: 'accepted',
      rotations: [{ targetId: 'rq-a', rotationId, deduplicated: false, outcome: 'succeeded' }],
    });
    const versionId = waited.request === 'accepted' ? waited.rotations[0]!.versionId : undefined;

    expect(cluster.password).not.toBe(before);
    expect(cluster.history).toHaveLength(2);
    const current = await h.components.store.getCurrent('h/rq-a');
    expect(current?.versionId).toBe(versionId);
    expect(readPassword(current!.text, 'json')).toBe(cluster.password);

    const records = (await trail()).filter((r) => r.rotationId === rotationId);
    expect(records.map((r) => r.type)).toEqual(
      expect.arrayContaining(['rotation-requested', 'rotation-started', 'rotation-succeeded']),
    );
    for (const r of records) {
      expect(r).toMatchObject({
        trigger: 'queue',
        actor: 'incident-bot',
        reason: 'INC-42: credential leaked in a CI log',
      });
    }
    expect(records.find((r) => r.type === 'rotation-requested')).toMatchObject({
      outcome: 'enqueued',
      request: result!.id,
      provider: 'otc-css',
    });

    const rotationLog = (await h.runtime.queues.rotations.getJobLogs(rotationId)).logs;
    expect(rotationLog[0]).toBe(
      'attempt 1 started (trigger queue by incident-bot, reason "INC-42: credential leaked in a CI log")',
    );
    const requestLog = (await h.runtime.queues.requests.getJobLogs(result!.id)).logs;
    expect(requestLog).toEqual([
      'accepted: rq-a from incident-bot, reason "INC-42: credential leaked in a CI log" (normal)',
      `rq-a: rotation ${rotationId}`,
    ]);
  });

  it('an urgent request goes ahead of normal rotations queued before it; same priority keeps its order', async () => {
    const q = h.runtime.queues;
    await q.rotations.pause();
    try {
      // what the target schedulers produce: trigger jobs, turned into rotations by the worker
      for (const targetId of ['rq-c', 'rq-d']) {
        await q.triggers.add(JOB_NAMES.scheduledRotation, { targetId });
        await until(`the scheduled rotation of ${targetId} to wait`, async () =>
          (await q.rotations.getDeduplicationJobId(targetId)) ? true : undefined,
        );
      }
      const results = await produce([
        { data: { targetId: 'rq-e', actor: 'deploy-pipeline', priority: 'urgent' } },
        { data: { targetId: 'rq-a', actor: 'deploy-pipeline' } },
      ]);
      const ids = [
        (await q.rotations.getDeduplicationJobId('rq-c'))!,
        (await q.rotations.getDeduplicationJobId('rq-d'))!,
        ...results.map((r) => completed(r).rotations[0]!.rotationId),
      ];
      await q.rotations.resume();
      await until('four rotations to end', async () => {
        const states = await Promise.all(ids.map((id) => q.rotations.getJobState(id)));
        return states.every((s) => s === 'completed');
      });
      expect(await startOrder(ids)).toEqual(['rq-e', 'rq-c', 'rq-d', 'rq-a']);
    } finally {
      await q.rotations.resume();
    }
  });

  it('{ all: true } urgent while scheduled rotations wait: the new urgent ones run first, the waiting ones are raised and joined', async () => {
    const q = h.runtime.queues;
    await q.rotations.pause();
    try {
      for (const targetId of ['rq-c', 'rq-d', 'rq-e'])
        await q.triggers.add(JOB_NAMES.scheduledRotation, { targetId });
      const scheduled = await until('the scheduled rotations to wait', async () => {
        const ids = await Promise.all(
          ['rq-c', 'rq-d', 'rq-e'].map((t) => q.rotations.getDeduplicationJobId(t)),
        );
        return ids.every(Boolean) ? (ids as string[]) : undefined;
      });
      for (const id of scheduled) expect((await q.rotations.getJob(id))?.priority).toBe(10);

      const [result] = await produce([
        { data: { all: true, actor: 'incident-bot', reason: 'rotate everything', priority: 'urgent' } },
      ]);
      const rotations = completed(result).rotations;
      // every enabled target, in config order; the disabled one is not part of "all"
      expect(rotations.map((r) => [r.targetId, r.deduplicated])).toEqual([
        ['rq-a', false],
        ['rq-b', false],
        ['rq-c', true],
        ['rq-d', true],
        ['rq-e', true],
      ]);
      expect(rotations.slice(2).map((r) => r.rotationId)).toEqual(scheduled);
      // the waiting scheduled rotations were raised to urgent: nothing of this request waits behind normal work
      for (const r of rotations) expect((await q.rotations.getJob(r.rotationId))?.priority).toBe(1);
      // who else asked is in the joined rotation's job log and in the audit trail
      expect((await q.rotations.getJobLogs(scheduled[0]!)).logs).toEqual([
        `joined by a queue request from incident-bot, reason "rotate everything" (urgent, request ${result!.id})`,
      ]);
      const requested = (await trail()).filter(
        (r) => r.type === 'rotation-requested' && r.request === result!.id,
      );
      expect(requested.map((r) => [r.targetId, r.outcome, r.actor, r.reason])).toEqual([
        ['rq-a', 'enqueued', 'incident-bot', 'rotate everything'],
        ['rq-b', 'enqueued', 'incident-bot', 'rotate everything'],
        ['rq-c', 'joined', 'incident-bot', 'rotate everything'],
        ['rq-d', 'joined', 'incident-bot', 'rotate everything'],
        ['rq-e', 'joined', 'incident-bot', 'rotate everything'],
      ]);

      await q.rotations.resume();
      const waited = await waitForRotation(connection(), result!.id, {
        prefix: h.prefix,
        timeoutMs: 60_000,
        pollMs: 50,
      });
      expect(waited.request === 'accepted' && waited.rotations.map((r) => r.outcome)).toEqual(
        Array(5).fill('succeeded'),
      );
      // queued after the scheduled ones, run before them
      const order = await startOrder(rotations.map((r) => r.rotationId));
      expect(order.slice(0, 2).sort()).toEqual(['rq-a', 'rq-b']);
      expect(order.slice(2).sort()).toEqual(['rq-c', 'rq-d', 'rq-e']);
      // each ran once, under its own provenance: the new ones the request's, the joined ones the scheduler's
      const started = (await trail()).filter(
        (r) => r.type === 'rotation-started' && rotations.some((x) => x.rotationId === r.rotationId),
      );
      expect(started.map((r) => [r.targetId, r.trigger, r.actor]).sort()).toEqual([
        ['rq-a', 'queue', 'incident-bot'],
        ['rq-b', 'queue', 'incident-bot'],
        ['rq-c', 'schedule', 'scheduler'],
        ['rq-d', 'schedule', 'scheduler'],
        ['rq-e', 'schedule', 'scheduler'],
      ]);
    } finally {
      await q.rotations.resume();
    }
  });

  it('bad requests fail with a reason naming the field or the unknown target; the worker keeps rotating', async () => {
    const before = h.clusters.get('rq-b')!.history.length;
    const bad: [ProducerRequest, string][] = [
      [{ data: { targetId: 'nope', actor: 'bot' } }, 'targetId: unknown target "nope"'],
      [{ data: { targetId: 'rq-a' } }, 'invalid request: actor: required'],
      [
        { data: { targetId: 'rq-a', actor: 'bot', priority: 'high' } },
        'invalid request: priority: must be "normal" or "urgent"',
      ],
      [{ data: { targetId: 42, actor: 'bot' } }, 'invalid request: targetId: must be a string (a target id)'],
      [
        { data: { targetID: 'rq-a', actor: 'bot' } },
        'invalid request: targetId: required (or "all": true); targetID: unknown field',
      ],
      [
        { data: 'rq-a' },
        'invalid request: data: must be a JSON object: { "targetId": "<id>", "actor": "<who>" }',
      ],
      [
        { name: 'rotate-now', data: { targetId: 'rq-a', actor: 'bot' } },
        'job name: unknown job name "rotate-now"; the requests queue takes "rotate" jobs only',
      ],
      [
        { data: { targetId: 'rq-off', actor: 'bot' } },
        `targetId: target "rq-off" is disabled in the worker's config`,
      ],
      // a producer's retries do not apply to a refusal
      [
        { data: { targetId: 'nope', actor: 'bot' }, opts: { attempts: 3, backoff: 10 } },
        'targetId: unknown target "nope"',
      ],
    ];
    const results = await produce([
      ...bad.map(([r]) => r),
      { data: { targetId: 'rq-b', actor: 'bot', reason: 'after the bad ones' } },
    ]);
    expect(results.slice(0, bad.length).map((r) => (r.state === 'failed' ? r.reason : r.state))).toEqual(
      bad.map(([, reason]) => reason),
    );
    const retried = await h.runtime.queues.requests.getJob(results[bad.length - 1]!.id);
    expect(retried?.attemptsMade).toBe(1);
    expect(await retried?.getState()).toBe('failed');

    // the good request after them rotates as usual
    const good = completed(results.at(-1));
    const waited = await waitForRotation(connection(), results.at(-1)!.id, {
      prefix: h.prefix,
      timeoutMs: 30_000,
      pollMs: 50,
    });
    expect(waited).toMatchObject({
      request: 'accepted',
      rotations: [{ targetId: 'rq-b', outcome: 'succeeded' }],
    });
    expect(good.rotations[0]!.deduplicated).toBe(false);
    expect(h.clusters.get('rq-b')!.history).toHaveLength(before + 1);

    // refused in the audit trail, with who asked when it could be read
    const refused = (await trail()).filter((r) => r.type === 'request-refused');
    const byRequest = new Map(refused.map((r) => [r.request, r]));
    results.slice(0, bad.length).forEach((r, i) => {
      const record = byRequest.get(r.id);
      expect(record, bad[i]![1]).toMatchObject({ outcome: 'refused', trigger: 'queue', detail: bad[i]![1] });
    });
    expect(byRequest.get(results[0]!.id)).toMatchObject({
      errorKind: 'unknown-target',
      targetId: 'nope',
      actor: 'bot',
    });
    expect(byRequest.get(results[1]!.id)).toMatchObject({
      errorKind: 'invalid-request',
      targetId: 'rq-a',
      actor: '',
    });
    expect(byRequest.get(results[6]!.id)?.errorKind).toBe('unknown-job-name');
    expect(byRequest.get(results[7]!.id)).toMatchObject({
      errorKind: 'disabled-target',
      provider: 'otc-css',
    });
    // not rotations: `rotator audit` does not list them
    expect(refused.every((r) => r.rotationId === '')).toBe(true);

    // counted
    const metrics = parsePrometheusText(await h.components.metrics.registry.metrics());
    const count = (problem: string) =>
      sampleValue(metrics, 'rotator_queue_requests_refused_total', { problem });
    expect([
      count('unknown-target'),
      count('invalid-request'),
      count('unknown-job-name'),
      count('disabled-target'),
    ]).toEqual([2, 5, 1, 1]);
    expect(sampleValue(metrics, 'rotator_queue_rotations_requested_total', { deduplicated: 'true' })).toBe(3);
    // the request workers never errored
    expect(h.logs.filter((l) => l.includes('queue worker error'))).toEqual([]);
  });

  it('the client checks a request before sending it, and reports refused and missing requests', async () => {
    await expect(
      requestRotation(connection(), { targetId: 'rq-a', actor: '' }, { prefix: h.prefix }),
    ).rejects.toThrow(new InvalidRotationRequestError('invalid rotation request: actor: must not be empty'));
    const { requestId } = await requestRotation(
      connection(),
      { targetId: 'zzz', actor: 'client-test' },
      { prefix: h.prefix, requestId: 'client-unknown-1' },
    );
    expect(requestId).toBe('client-unknown-1');
    expect(
      await waitForRotation(connection(), requestId, { prefix: h.prefix, timeoutMs: 20_000, pollMs: 50 }),
    ).toEqual({ request: 'refused', reason: 'targetId: unknown target "zzz"' });
    expect(
      await waitForRotation(connection(), 'no-such-request', { prefix: h.prefix, timeoutMs: 1_000 }),
    ).toEqual({
      request: 'missing',
    });
  });

  it('no generated password is in Redis (request jobs included), the logs or the audit trail', async () => {
    const generated = [...h.clusters.values()].flatMap((c) => c.history.slice(1));
    expect(generated.length).toBeGreaterThanOrEqual(9);
    const requestJobs = await h.runtime.queues.requests.getJobs(['completed', 'failed']);
    expect(requestJobs.length).toBeGreaterThanOrEqual(14);
    const haystacks: [string, string][] = [
      ['request jobs', JSON.stringify(requestJobs.map((j) => [j.data, j.returnvalue, j.failedReason]))],
      ['redis', (await dumpRedis(h.redis, `${h.prefix}:*`)).join('\n')],
      ['logs', h.logs.join('')],
      ['audit', await readFile(h.config.audit.path, 'utf8')],
    ];
    for (const password of generated) {
      for (const [where, text] of haystacks) expect(text.includes(password), where).toBe(false);
    }
  });
});
