import type { BenchContext, ScenarioResult } from './context.js';
import { AWS_QUOTA, AWS_TARGETS } from './scenarios/aws-quota.js';
import type { WorkerAvailability } from './scenarios/worker.js';
import { type Samples, summarize } from './stats.js';
import type { Row } from './table.js';

const MB = 1024 * 1024;

/** The one table: every figure the issue asks for, measured or with the reason it is not. */
export function buildRows(
  s: Samples,
  results: readonly ScenarioResult[],
  ctx: BenchContext,
  worker: WorkerAvailability,
  want: (name: string) => boolean,
): Row[] {
  const rows: Row[] = [];
  const n = ctx.scale.targets.toLocaleString('en-US');
  const notRun = worker.short ?? 'not run';
  const add = (section: string, figure: string, unit: string, key: string, target?: string) => {
    const v = s.get(key);
    rows.push({ section, figure, unit, value: v ?? { note: 'not run' }, ...(target ? { target } : {}) });
  };
  const missing = (section: string, figure: string, unit: string, target?: string) =>
    rows.push({ section, figure, unit, value: { note: notRun }, ...(target ? { target } : {}) });

  const fleet = `1 fleet ${n}`;
  if (want('fleet')) {
    if (worker.available) {
      add(fleet, 'worker: wall time', 'ms', 'fleet.wallMs');
      add(fleet, 'worker: Little bound', 'ms', 'fleet.boundMs');
      add(fleet, 'worker: wall / bound', 'x', 'fleet.ratio', '<= 1.15');
      add(fleet, 'worker: calls per rotation (sandbox log)', 'calls', 'fleet.callsPerRotation');
      add(fleet, 'worker: time to enqueue all (rotate --all path)', 'ms', 'fleet.enqueueMs');
      add(fleet, 'worker: CPU per rotation', 'ms', 'fleet.cpuMsPerRotation');
      add(fleet, 'worker + rate limit: wall time', 'ms', 'fleetRate.wallMs');
      add(fleet, 'worker + rate limit: bound', 'ms', 'fleetRate.boundMs');
      add(fleet, 'worker + rate limit: wall / bound', 'x', 'fleetRate.ratio', '<= 1.15');
    } else {
      missing(fleet, 'worker: wall / Little bound', 'x', '<= 1.15');
      missing(fleet, 'worker + rate limit: wall / bound', 'x', '<= 1.15');
    }
  }
  if (want('fleet') && !worker.available) {
    const pl = 'rotate() on BullMQ (bench-built)';
    add(fleet, `${pl}: wall time`, 'ms', 'pfleet.wallMs');
    add(fleet, `${pl}: Little bound`, 'ms', 'pfleet.boundMs');
    add(fleet, `${pl}: wall / bound`, 'x', 'pfleet.ratio', '<= 1.15');
    add(fleet, `${pl}: calls per rotation (sandbox log)`, 'calls', 'pfleet.callsPerRotation');
    add(fleet, `${pl}: worker CPU per rotation`, 'ms', 'pfleet.cpuMsPerRotation');
    add(fleet, `${pl}, node:http client: wall time`, 'ms', 'pfleetHttp.wallMs');
    add(fleet, `${pl}, node:http client: wall / bound`, 'x', 'pfleetHttp.ratio', '<= 1.15');
    add(fleet, `${pl}, node:http client: CPU per rotation`, 'ms', 'pfleetHttp.cpuMsPerRotation');
    add(fleet, `${pl} + rate limit: wall time`, 'ms', 'pfleetRate.wallMs');
    add(fleet, `${pl} + rate limit: bound`, 'ms', 'pfleetRate.boundMs');
    add(fleet, `${pl} + rate limit: wall / bound`, 'x', 'pfleetRate.ratio', '<= 1.15');
  }
  if (want('provider')) {
    add(fleet, 'provider calls only: wall time', 'ms', 'provider.wallMs');
    add(fleet, 'provider calls only: Little bound', 'ms', 'provider.boundMs');
    add(fleet, 'provider calls only: wall / bound', 'x', 'provider.ratio');
    add(fleet, 'provider calls only: calls per rotation', 'calls', 'provider.callsPerRotation');
    add(fleet, 'provider calls only: client CPU per rotation', 'ms', 'provider.cpuMsPerRotation');
    add(fleet, 'provider calls + rate limit: wall time', 'ms', 'providerRate.wallMs');
    add(fleet, 'provider calls + rate limit: bound', 'ms', 'providerRate.boundMs');
    add(fleet, 'provider calls + rate limit: wall / bound', 'x', 'providerRate.ratio');
  }
  if (want('overhead')) {
    const ov = '2 overhead';
    if (worker.available) {
      add(ov, 'worker, 0 ms latency: rotations per second', 'jobs/s', 'pipeline.jobsPerSec');
      add(ov, 'worker: CPU per rotation', 'ms', 'pipeline.cpuMsPerJob');
      add(ov, 'worker: CPU beyond bare BullMQ', 'ms', 'pipeline.extraCpuMsPerJob', '<= 1');
      add(ov, 'worker: Redis CPU per rotation', 'ms', 'pipeline.redisCpuMsPerJob');
      add(ov, 'worker: Redis commands per rotation', 'cmds', 'pipeline.redisCmdsPerJob');
    } else {
      missing(ov, 'worker, 0 ms latency: rotations per second', 'jobs/s');
      missing(ov, 'worker: CPU beyond bare BullMQ', 'ms', '<= 1');
    }
    const pl = 'rotate() on BullMQ (bench-built)';
    add(ov, `${pl}, 0 ms latency: rotations/s`, 'jobs/s', 'pipe.jobsPerSec');
    add(ov, `${pl}: worker CPU per rotation`, 'ms', 'pipe.cpuMsPerJob');
    if (!worker.available) {
      add(ov, `${pl}: CPU beyond bare BullMQ`, 'ms', 'pipe.extraCpuMsPerJob', '<= 1');
      add(ov, `${pl}: Redis CPU per rotation`, 'ms', 'pipe.redisCpuMsPerJob');
    }
    add(ov, `${pl}, node:http client: rotations/s`, 'jobs/s', 'pipeHttp.jobsPerSec');
    add(ov, `${pl}, node:http client: CPU per rotation`, 'ms', 'pipeHttp.cpuMsPerJob');
    if (!worker.available) {
      add(ov, `${pl}, node:http client: beyond bare`, 'ms', 'pipeHttp.extraCpuMsPerJob', '<= 1');
    }
    add(ov, 'bare BullMQ no-op: jobs per second', 'jobs/s', 'bare.jobsPerSec');
    add(ov, 'bare BullMQ no-op: worker CPU per job', 'ms', 'bare.cpuMsPerJob');
    add(ov, 'bare BullMQ no-op: Redis CPU per job', 'ms', 'bare.redisCpuMsPerJob');
    add(ov, 'bare BullMQ no-op: Redis commands per job', 'cmds', 'bare.redisCmdsPerJob');
  }
  if (want('schedules')) {
    const sc = `3 schedules ${n}`;
    if (worker.available) {
      add(sc, 'worker reconcile, first start', 'ms', 'reconcile.coldMs', '< 5000');
      add(sc, 'worker reconcile, restart unchanged', 'ms', 'reconcile.warmMs', '< 1000');
      add(sc, 'worker: Redis memory per target', 'bytes', 'reconcile.bytesPerTarget');
      add(sc, 'worker process restart to schedules reconciled', 'ms', 'reconcile.restartMs');
    } else {
      missing(sc, 'worker reconcile, first start', 'ms', '< 5000');
      missing(sc, 'worker reconcile, restart unchanged', 'ms', '< 1000');
      missing(sc, 'worker: Redis memory per target', 'bytes');
    }
    add(sc, 'bare BullMQ upsertJobScheduler x N', 'ms', 'bareSched.coldMs');
    add(sc, 'bare BullMQ upsert again, same N', 'ms', 'bareSched.warmMs');
    add(sc, 'bare BullMQ: Redis memory per scheduler', 'bytes', 'bareSched.bytesPerTarget');
  }
  if (want('store')) {
    const st = `store ${n} secrets`;
    add(st, 'file store, rotate() call pattern: rotations/s', '1/s', 'store.rotationsPerSec');
    add(st, 'file store: CPU per rotation', 'ms', 'store.cpuMsPerRotation');
    add(st, 'file store: share of fleet done in 20 s', 'share', 'store.completedShare');
  }
  const rss = '4 peak RSS';
  if (!worker.available) missing(rss, 'worker process', 'MB', '< 200');
  const peaks = results.flatMap((r) => r.peakRss);
  const byLabel = new Map<string, { values: number[]; target?: string }>();
  for (const p of peaks) {
    const entry = byLabel.get(p.label) ?? { values: [] };
    entry.values.push(p.bytes / MB);
    if (p.target) entry.target = p.target;
    byLabel.set(p.label, entry);
  }
  for (const [label, { values, target }] of byLabel) {
    rows.push({
      section: rss,
      figure: label,
      unit: 'MB',
      value: summarize(values) ?? { note: 'not sampled' },
      ...(target ? { target } : {}),
    });
  }
  if (want('aws')) {
    const aws = `5 aws store ${AWS_TARGETS}, quota ${AWS_QUOTA.max}/${AWS_QUOTA.perMs} ms`;
    if (worker.available) {
      add(aws, 'worker: wall time', 'ms', 'aws.wallMs');
      add(aws, 'worker: quota bound (accepted writes / quota)', 'ms', 'aws.boundMs');
      add(aws, 'worker: wall / quota bound', 'x', 'aws.ratio', '<= 1.15');
      add(aws, 'worker: share of writes throttled', 'share', 'aws.throttledShare', '<= 0.01');
      add(aws, 'worker: rotations failed', 'jobs', 'aws.failed', '0');
      add(aws, 'worker: quota writes per rotation', 'calls', 'aws.writesPerRotation');
      add(aws, 'worker: whole-rotation retries', 'runs', 'aws.rotationRetries');
      const metric = s.get('aws.storeThrottled');
      rows.push({
        section: aws,
        figure: 'worker: rotator_store_throttled_total',
        unit: 'calls',
        value: metric ?? { note: s.get('aws.wallMs') ? 'not exported by this build' : 'not run' },
      });
    } else {
      missing(aws, 'worker: wall / quota bound', 'x', '<= 1.15');
      missing(aws, 'worker: share of writes throttled', 'share', '<= 0.01');
    }
  }
  return rows;
}
