// Tracing end to end: the real worker (CLI, child process) exports with the official OTLP/HTTP
// exporter to a receiver on loopback that decodes what arrives (OTLP JSON).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracesUrl } from '../../src/telemetry/tracing.js';
import { runCli } from '../audit/cli-helpers.js';
import { type Fleet, startFleet } from '../worker/harness.js';
import { until } from '../worker/until.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number };
  startTimeUnixNano: string;
}
interface Span extends Omit<OtlpSpan, 'attributes'> {
  scope: string;
  service: string | undefined;
  attrs: Record<string, string | number | boolean | undefined>;
}

function value(v: OtlpValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.boolValue;
}

/** Flattens ExportTraceServiceRequest JSON bodies into spans with their scope and service. */
function decode(bodies: Buffer[]): Span[] {
  const spans: Span[] = [];
  for (const body of bodies) {
    const req = JSON.parse(body.toString('utf8')) as {
      resourceSpans: {
        resource?: { attributes?: { key: string; value: OtlpValue }[] };
        scopeSpans: { scope?: { name: string }; spans: OtlpSpan[] }[];
      }[];
    };
    for (const rs of req.resourceSpans) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          const attrs = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, value(a.value)]));
          spans.push({ ...s, scope: ss.scope?.name ?? '', service, attrs });
        }
      }
    }
  }
  return spans;
}

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');

let fleet: Fleet;
let receiver: Server;
let configFile: string;
const bodies: Buffer[] = [];
const contentTypes = new Set<string>();
let worker: ChildProcess;
const output: string[] = [];
let spans: Span[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  fleet = await startFleet({
    clusters: [
      { key: 'trace-ok' },
      { key: 'trace-busy', provider: 'ncp-cdss', faults: [{ type: 'http', status: 409 }] },
      { key: 'trace-frozen', faults: [{ type: 'http', status: 412 }] },
    ],
  });
  configFile = join(fleet.dir, 'rotator.yaml');
  writeFileSync(configFile, JSON.stringify(fleet.config));
  worker = spawn(process.execPath, [BIN, 'worker', '--config', configFile], {
    env: {
      ...process.env,
      ...fleet.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  worker.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  await until('the worker to start', () => output.join('').includes('worker started'), 30_000);

  const env = { ...fleet.env };
  const ok = await runCli(['rotate', 'trace-ok', 'trace-busy', '--wait', '--config', configFile], env);
  expect(ok.code, ok.stderr).toBe(0);
  const frozen = await runCli(['rotate', 'trace-frozen', '--wait', '--config', configFile], env);
  expect(frozen.code).toBe(1);
  // SIGTERM: the worker exports what its batch still holds before it exits.
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  worker.kill('SIGTERM');
  expect(await exited).toBe(0);
  spans = decode(bodies);
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await fleet?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

function rotationSpans(targetId: string): Span[] {
  return spans
    .filter((s) => s.name === 'rotation' && s.attrs['rotator.target.id'] === targetId)
    .sort((a, b) => Number(a.attrs['rotator.attempt']) - Number(b.attrs['rotator.attempt']));
}

/** The steps the audit trail recorded for one run of a target, in order. */
function auditedSteps(targetId: string, attempt: number): string[] {
  return readFileSync(fleet.config.audit.path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; targetId: string; attempt: number; step?: string })
    .filter((r) => r.type === 'step' && r.targetId === targetId && r.attempt === attempt)
    .map((r) => r.step!);
}

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  it('exports OTLP/HTTP JSON under the service name secret-rotator', () => {
    expect(bodies.length).toBeGreaterThan(0);
    expect([...contentTypes]).toEqual(['application/json']);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['secret-rotator']));
  });

  it('makes each rotation a trace: a span per run, a child span per step, target/provider/outcome', () => {
    const [run] = rotationSpans('trace-ok');
    expect(rotationSpans('trace-ok')).toHaveLength(1);
    expect(run!.attrs).toMatchObject({
      'rotator.target.id': 'trace-ok',
      'rotator.provider': 'otc-css',
      'rotator.outcome': 'succeeded',
      'rotator.attempt': 1,
    });
    const steps = spans
      .filter((s) => s.parentSpanId === run!.spanId)
      .sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    expect(steps.map((s) => s.name)).toEqual(auditedSteps('trace-ok', 1));
    expect(steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['stage', 'ready', 'apply', 'settle', 'promote']),
    );
    for (const s of steps) {
      expect(s.traceId).toBe(run!.traceId);
      expect(s.attrs).toMatchObject({ 'rotator.target.id': 'trace-ok', 'rotator.provider': 'otc-css' });
      expect(s.attrs['rotator.step']).toBe(s.name);
    }
    // Other rotations are other traces.
    expect(rotationSpans('trace-frozen')[0]!.traceId).not.toBe(run!.traceId);
  });

  it('keeps a retried rotation in one trace, and marks the failed one', () => {
    const runs = rotationSpans('trace-busy');
    expect(runs.map((r) => [r.attrs['rotator.attempt'], r.attrs['rotator.outcome']])).toEqual([
      [1, 'retrying'],
      [2, 'succeeded'],
    ]);
    expect(runs[0]!.attrs['rotator.error.kind']).toBe('busy');
    expect(runs[1]!.traceId).toBe(runs[0]!.traceId);
    expect(runs[1]!.parentSpanId).toBe(runs[0]!.spanId);
    expect(runs[0]!.attrs['rotator.provider']).toBe('ncp-cdss');

    const [frozen] = rotationSpans('trace-frozen');
    expect(frozen!.attrs).toMatchObject({
      'rotator.outcome': 'failed',
      'rotator.error.kind': 'precondition',
    });
    expect(frozen!.status?.code).toBe(2); // ERROR
  });

  it("has BullMQ's own spans (bullmq-otel), linked from the rotation runs", () => {
    const bullmq = spans.filter((s) => s.scope === 'bullmq');
    expect(bullmq.length).toBeGreaterThan(0);
    const ids = new Set(bullmq.map((s) => s.spanId));
    for (const id of ['trace-ok', 'trace-busy', 'trace-frozen']) {
      for (const run of rotationSpans(id)) {
        expect(
          run.links?.some((l) => ids.has(l.spanId)),
          `${id} attempt ${run.attrs['rotator.attempt']}`,
        ).toBe(true);
      }
    }
  });

  it("puts the run's trace id on the rotation's log lines", () => {
    const lines = output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; targetId?: string; traceId?: string });
    const succeeded = lines.find((l) => l.msg === 'rotation succeeded' && l.targetId === 'trace-ok');
    expect(succeeded?.traceId).toBe(rotationSpans('trace-ok')[0]!.traceId);
    const retried = lines.find((l) => l.msg === 'rotation will be retried' && l.targetId === 'trace-busy');
    expect(retried?.traceId).toBe(rotationSpans('trace-busy')[0]!.traceId);
    const failed = lines.find((l) => l.msg === 'rotation failed' && l.targetId === 'trace-frozen');
    expect(failed?.traceId).toBe(rotationSpans('trace-frozen')[0]!.traceId);
  });

  it('exports no password, generated or initial, in any byte', () => {
    const all = Buffer.concat(bodies).toString('utf8');
    let checked = 0;
    for (const cluster of fleet.clusters.values()) {
      for (const password of cluster.history) {
        expect(all).not.toContain(password);
        checked++;
      }
    }
    // The two successful rotations generated passwords; the check ran on them.
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});

describe('tracing is off by default', () => {
  it('needs OTEL_EXPORTER_OTLP_ENDPOINT (or the traces endpoint) and honours OTEL_SDK_DISABLED', () => {
    expect(tracesUrl({})).toBeUndefined();
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t',
      }),
    ).toBe('http://b/t');
    expect(
      tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
  });
});
