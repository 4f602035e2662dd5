import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file-trail.js';
import { csvField, formatCsv } from '../../src/audit/format.js';
import { buildRotationHistory, type RotationSummary } from '../../src/audit/history.js';
import { jobLogLookupFromQueue } from '../../src/audit/job-logs.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { parseTimeArg } from '../../src/audit/time-arg.js';
import { registerAudit } from '../../src/cli/commands/audit.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { writeConfig } from './cli-helpers.js';
import { parseCsv } from './csv.js';
import { mixedRun } from './mixed-run.js';

const rec = (ts: string, fields: Partial<AuditRecord>): AuditRecord => ({
  type: 'step',
  rotationId: 'r1',
  targetId: 't1',
  provider: 'otc-css',
  trigger: 'schedule',
  actor: 'scheduler',
  attempt: 1,
  ts,
  seq: 0,
  prevHash: '',
  hash: '',
  ...fields,
});

describe('buildRotationHistory', () => {
  const records = [
    rec('2026-01-01T00:00:00Z', { type: 'rotation-started', rotationId: 'old' }),
    rec('2026-01-01T00:10:00Z', { type: 'rotation-succeeded', rotationId: 'old' }),
    rec('2026-02-01T00:00:00Z', { type: 'rotation-started', rotationId: 'mid', targetId: 't2' }),
    rec('2026-02-03T00:00:00Z', {
      type: 'rotation-failed',
      rotationId: 'mid',
      targetId: 't2',
      errorKind: 'auth',
    }),
    rec('2026-03-01T00:00:00Z', { type: 'rotation-started', rotationId: 'open' }),
    rec('2026-03-01T00:01:00Z', {
      type: 'rotation-retrying',
      rotationId: 'open',
      attempt: 1,
      httpStatus: 409,
    }),
  ];

  it('groups per rotation with outcome, end and the last error', () => {
    const h = buildRotationHistory(records);
    expect(h.map((s) => [s.rotationId, s.outcome, s.endedAt ?? null, s.errorKind ?? null])).toEqual([
      ['old', 'succeeded', '2026-01-01T00:10:00Z', null],
      ['mid', 'failed', '2026-02-03T00:00:00Z', 'auth'],
      ['open', 'running', null, null],
    ]);
  });

  it('keeps rotations that overlap the window, and filters by target', () => {
    const ids = (f: Parameters<typeof buildRotationHistory>[1]) =>
      buildRotationHistory(records, f).map((s) => s.rotationId);
    expect(ids({ since: Date.parse('2026-02-02T00:00:00Z') })).toEqual(['mid', 'open']);
    expect(ids({ until: Date.parse('2026-02-01T00:00:00Z') })).toEqual(['old', 'mid']);
    expect(ids({ since: Date.parse('2026-01-15'), until: Date.parse('2026-02-15') })).toEqual(['mid']);
    expect(ids({ targetId: 't2' })).toEqual(['mid']);
  });

  it("leaves out the requests queue's records and keeps a queue request's reason", () => {
    const q = { trigger: 'queue', actor: 'incident-bot', reason: 'INC-42' } as const;
    const h = buildRotationHistory([
      rec('2026-04-01T00:00:00Z', {
        ...q,
        type: 'request-refused',
        rotationId: '',
        targetId: 'nope',
        attempt: 0,
      }),
      // recorded before the rotation it asked for starts: not the rotation's start
      rec('2026-04-01T00:00:01Z', { ...q, type: 'rotation-requested', rotationId: 'q1', attempt: 0 }),
      rec('2026-04-01T00:00:05Z', { ...q, type: 'rotation-started', rotationId: 'q1' }),
      rec('2026-04-01T00:00:09Z', { ...q, type: 'rotation-succeeded', rotationId: 'q1' }),
    ]);
    expect(h.map((s) => [s.rotationId, s.startedAt, s.outcome, s.trigger, s.actor, s.reason])).toEqual([
      ['q1', '2026-04-01T00:00:05Z', 'succeeded', 'queue', 'incident-bot', 'INC-42'],
    ]);
  });
});

describe('CSV and time options', () => {
  it('quotes fields with commas, quotes and newlines so they read back unchanged', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    const summary: RotationSummary = {
      rotationId: 'r,1',
      targetId: 't"1',
      provider: 'otc-css',
      trigger: 'cli',
      actor: 'line\nbreak',
      startedAt: '2026-01-01T00:00:00Z',
      attempts: 1,
      outcome: 'running',
      httpStatuses: [409, 200],
      vendorCodes: [],
      requestIds: [],
      versionIds: [],
      jobLog: ['step=apply, "quoted"', 'second'],
    };
    const [header, row] = parseCsv(formatCsv([summary]));
    const obj = Object.fromEntries(header!.map((h, i) => [h, row![i]]));
    expect(obj).toMatchObject({
      rotationId: 'r,1',
      targetId: 't"1',
      actor: 'line\nbreak',
      httpStatuses: '409;200',
      jobLog: 'step=apply, "quoted"\nsecond',
    });
  });

  it('reads ISO times and durations ago, and names the option when it cannot', () => {
    const now = Date.parse('2026-05-10T00:00:00Z');
    expect(parseTimeArg('--since', '7d', now)).toBe(Date.parse('2026-05-03T00:00:00Z'));
    expect(parseTimeArg('--since', '12h', now)).toBe(Date.parse('2026-05-09T12:00:00Z'));
    expect(parseTimeArg('--until', '2026-01-31', now)).toBe(Date.parse('2026-01-31T00:00:00Z'));
    expect(parseTimeArg('--until', '2026-01-31T12:30:00+02:00', now)).toBe(
      Date.parse('2026-01-31T10:30:00Z'),
    );
    expect(() => parseTimeArg('--until', 'yesterday', now)).toThrow("--until: invalid time 'yesterday'");
    expect(() => parseTimeArg('--since', '42', now)).toThrow("--since: invalid time '42'");
  });
});

describe('job log enrichment', () => {
  let connection: Redis;
  let queue: Queue;
  let dir: string;

  beforeAll(async () => {
    connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue(uniquePrefix('joblogs'), { connection, prefix: uniquePrefix('bull') });
    dir = await mkdtemp(join(tmpdir(), 'joblogs-'));
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
    await rm(dir, { recursive: true, force: true });
  });

  it('rotator audit adds the job logs that still exist, through the injected lookup', async () => {
    const job = await queue.add('rotate', { targetId: 'otc-search' }, { jobId: 'job-rot-c' });
    await job.log('step=apply outcome=failed httpStatus=412 vendorCode=CSS.0015');
    const trailPath = join(dir, 'audit.jsonl');
    const trail = await openFileAuditTrail({ path: trailPath });
    for (const e of mixedRun().events) await trail.append(e);
    await trail.close();
    const configFile = await writeConfig(dir, trailPath);

    let out = '';
    let closed = false;
    const program = new Command().exitOverride();
    registerAudit(program, {
      write: (t) => {
        out += t;
      },
      openJobLogs: async (config) => {
        expect(config.audit.path).toBe(trailPath);
        return {
          lookup: jobLogLookupFromQueue(queue, { jobIdFor: (rotationId) => `job-${rotationId}` }),
          close: async () => {
            closed = true;
          },
        };
      },
    });
    await program.parseAsync(['audit', '--format', 'json', '--config', configFile], { from: 'user' });
    const list = JSON.parse(out) as RotationSummary[];
    expect(list.find((s) => s.rotationId === 'rot-c')?.jobLog).toEqual([
      'step=apply outcome=failed httpStatus=412 vendorCode=CSS.0015',
    ]);
    // Jobs already removed from the queue have no log; their history stays.
    expect(list.filter((s) => s.jobLog !== undefined).map((s) => s.rotationId)).toEqual(['rot-c']);
    expect(list).toHaveLength(4);
    expect(closed).toBe(true);
  });
});
