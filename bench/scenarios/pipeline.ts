import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RateLimit } from '../../src/util/rate-limit.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { readPassword } from '../../src/secrets/format.js';
import { type BenchContext, emptyResult, profileArgs, type ScenarioResult, tempDir } from '../context.js';
import { countCalls, fleetSpecs } from '../fleet.js';
import { jobRun, type JobRun } from '../job-run.js';
import { summarizeProfiles } from '../profile.js';
import { deletePrefix } from '../redis-stats.js';
import type { Samples } from '../stats.js';
import { bareRun } from './overhead-bare.js';
import { CONCURRENCY, type FleetBound, fleetBound, LATENCY_MS, rateLimitFor } from './bounds.js';

/** Status poll interval of the bench's rotations: the settle step waits this long before its first poll. */
export const POLL_INTERVAL_MS = 1;

interface PipelineRun extends JobRun {
  bound: FleetBound;
}

/** Every cluster reset exactly once, and the store's current password is the one each cluster accepts. */
async function checkOutcome(sandbox: Sandbox, storePath: string, keyHex: string, run: JobRun): Promise<void> {
  const clusters = sandbox.clusters.list();
  if (run.failed > 0) throw new Error(`${run.failed} rotations failed`);
  const notOnce = clusters.filter((c) => c.resetsApplied !== 1).length;
  if (notOnce > 0) throw new Error(`${notOnce} of ${clusters.length} clusters were not reset exactly once`);
  const store = createFileStore({ path: storePath, keyBytes: Buffer.from(keyHex, 'hex') });
  let wrong = 0;
  for (const c of clusters) {
    const current = await store.getCurrent(`sandbox/${c.key}`);
    if ((current && readPassword(current.text, 'json')) !== c.password) wrong += 1;
  }
  await store.close();
  if (wrong > 0) throw new Error(`${wrong} targets: the store's current password is not the cluster's`);
}

async function pipelineRun(
  ctx: BenchContext,
  jobs: number,
  latencyMs: number,
  rateLimit: RateLimit | undefined,
  execArgv: string[] = [],
  http: 'fetch' | 'node-http' = 'fetch',
): Promise<PipelineRun> {
  const sandbox = await startSandbox({ latencyMs, busyMs: 0, maxLogEntries: 2_000_000 });
  for (const spec of fleetSpecs(jobs)) sandbox.clusters.add(spec);
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const dir = tempDir('pipeline');
  const storePath = join(dir, 'secrets.enc');
  const storeKeyHex = randomBytes(32).toString('hex');
  try {
    const run = await jobRun(ctx, {
      child: 'rotate-pipeline',
      params: {
        redisUrl: ctx.redisUrl,
        prefix,
        queue: 'rotations',
        concurrency: CONCURRENCY,
        sandboxUrl: sandbox.url,
        targets: jobs,
        storePath,
        storeKeyHex,
        pollIntervalMs: POLL_INTERVAL_MS,
        rateLimit,
        http,
      },
      prefix,
      queue: 'rotations',
      jobs,
      data: (i) => ({ targetId: `bench-${i}` }),
      execArgv,
    });
    await checkOutcome(sandbox, storePath, storeKeyHex, run);
    const calls = countCalls(sandbox.requests());
    const bound = fleetBound(calls, jobs, CONCURRENCY, rateLimit, POLL_INTERVAL_MS);
    return { ...run, bound };
  } finally {
    await sandbox.close();
    await deletePrefix(ctx.redis, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * rotate() on BullMQ (bench/children/rotate-pipeline.ts) over the sandbox and the file store: the fleet
 * against its bound, with and without a rate limit, and, at 0 ms latency, against bare BullMQ in the
 * same run.
 */
export async function runPipeline(
  ctx: BenchContext,
  samples: Samples,
  want: (name: string) => boolean,
  /** With the real worker measured too, only the HTTP client comparison runs here. */
  workerAvailable: boolean,
): Promise<ScenarioResult> {
  const out = emptyResult();
  const n = ctx.scale.targets;
  for (let r = 0; r < ctx.runs; r++) {
    if (want('fleet') && !workerAvailable) {
      for (const [label, limit, http] of [
        ['pfleet', undefined, 'fetch'],
        ['pfleetHttp', undefined, 'node-http'],
        ['pfleetRate', rateLimitFor(n), 'fetch'],
      ] as const) {
        const run = await pipelineRun(ctx, n, LATENCY_MS, limit, [], http);
        samples.add(`${label}.wallMs`, run.wallMs);
        samples.add(`${label}.boundMs`, run.bound.boundMs);
        samples.add(`${label}.ratio`, run.wallMs / run.bound.boundMs);
        samples.add(`${label}.callsPerRotation`, run.bound.callsPerRotation);
        samples.add(`${label}.cpuMsPerRotation`, run.workerCpuMs / n);
        out.peakRss.push({ label: 'rotate() pipeline child', bytes: run.peakRss });
        ctx.log(
          `${label} run ${r + 1}: ${run.wallMs.toFixed(0)} ms vs bound ${run.bound.boundMs.toFixed(0)} ms, ` +
            `${run.bound.callsPerRotation.toFixed(2)} calls per rotation`,
        );
      }
    }
    if (want('overhead')) {
      // A comparison of HTTP clients only when the worker is measured too: fewer jobs do.
      const jobs = workerAvailable ? Math.min(2_000, ctx.scale.overheadJobs) : ctx.scale.overheadJobs;
      // The real worker's overhead run brings its own bare run; without it, this one does.
      const bare = workerAvailable ? undefined : await bareRun(ctx, jobs);
      const pipe = await pipelineRun(ctx, jobs, 0, undefined);
      const pipeHttp = await pipelineRun(ctx, jobs, 0, undefined, [], 'node-http');
      samples.add('pipeHttp.jobsPerSec', (jobs / pipeHttp.wallMs) * 1000);
      samples.add('pipeHttp.cpuMsPerJob', pipeHttp.workerCpuMs / jobs);
      out.peakRss.push({ label: 'rotate() pipeline child, node:http client', bytes: pipeHttp.peakRss });
      samples.add('pipe.jobsPerSec', (jobs / pipe.wallMs) * 1000);
      samples.add('pipe.cpuMsPerJob', pipe.workerCpuMs / jobs);
      samples.add('pipe.redisCpuMsPerJob', pipe.redisCpuMs / jobs);
      samples.add('pipe.redisCmdsPerJob', pipe.redisCommands / jobs);
      out.peakRss.push({ label: 'rotate() pipeline child', bytes: pipe.peakRss });
      if (bare) {
        samples.add('bare.jobsPerSec', (jobs / bare.wallMs) * 1000);
        samples.add('bare.cpuMsPerJob', bare.workerCpuMs / jobs);
        samples.add('bare.redisCpuMsPerJob', bare.redisCpuMs / jobs);
        samples.add('bare.redisCmdsPerJob', bare.redisCommands / jobs);
        samples.add('pipe.extraCpuMsPerJob', (pipe.workerCpuMs - bare.workerCpuMs) / jobs);
        samples.add('pipeHttp.extraCpuMsPerJob', (pipeHttp.workerCpuMs - bare.workerCpuMs) / jobs);
        out.peakRss.push({ label: 'bare BullMQ worker', bytes: bare.peakRss });
      }
      ctx.log(
        `overhead run ${r + 1}: pipeline ${((jobs / pipe.wallMs) * 1000).toFixed(0)} ` +
          `jobs/s ${(pipe.workerCpuMs / jobs).toFixed(3)} ms CPU; node:http client ` +
          `${((jobs / pipeHttp.wallMs) * 1000).toFixed(0)} jobs/s ${(pipeHttp.workerCpuMs / jobs).toFixed(3)} ms CPU`,
      );
    }
  }
  if (ctx.profile) {
    if (want('fleet') && !workerAvailable) {
      const prof = profileArgs('pfleet');
      await pipelineRun(ctx, n, LATENCY_MS, undefined, prof.execArgv);
      const summary = summarizeProfiles(prof.dir, ctx.root);
      if (summary) out.profiles.push({ label: `rotate() pipeline, fleet of ${n}, 50 ms latency`, summary });
    }
    if (want('overhead') && !workerAvailable) {
      const prof = profileArgs('pipe0');
      await pipelineRun(ctx, ctx.scale.overheadJobs, 0, undefined, prof.execArgv);
      const summary = summarizeProfiles(prof.dir, ctx.root);
      if (summary) out.profiles.push({ label: 'rotate() pipeline, 0 ms latency', summary });
    }
    if (want('overhead')) {
      const bprof = profileArgs('bare');
      await bareRun(ctx, ctx.scale.overheadJobs, bprof.execArgv);
      const bsummary = summarizeProfiles(bprof.dir, ctx.root);
      if (bsummary) out.profiles.push({ label: 'bare BullMQ worker, no-op jobs', summary: bsummary });
    }
  }
  return out;
}
