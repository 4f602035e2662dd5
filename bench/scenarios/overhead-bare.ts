import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { forkChild } from '../child.js';
import { isReady, type ChildMessage } from '../children/protocol.js';
import {
  type BenchContext,
  childScript,
  emptyResult,
  poll,
  profileArgs,
  type ScenarioResult,
} from '../context.js';
import { summarizeProfiles } from '../profile.js';
import { deletePrefix, redisSnapshot } from '../redis-stats.js';
import type { Samples } from '../stats.js';

export const BARE_QUEUE = 'bare';

export interface OverheadRun {
  wallMs: number;
  workerCpuMs: number;
  redisCpuMs: number;
  peakRss: number;
}

/** N do-nothing jobs through a worker child at concurrency 100: the BullMQ floor. */
async function oneRun(ctx: BenchContext, jobs: number, execArgv: string[] = []): Promise<OverheadRun> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const child = forkChild<ChildMessage>(childScript('bare-worker'), {
    env: {
      ...process.env,
      BENCH_PARAMS: JSON.stringify({ redisUrl: ctx.redisUrl, prefix, queue: BARE_QUEUE, concurrency: 100 }),
    },
    execArgv,
  });
  const queue = new Queue(BARE_QUEUE, { connection: ctx.redis, prefix });
  try {
    await child.waitFor(isReady, 30_000);
    const s0 = child.sample()!;
    const r0 = await redisSnapshot(ctx.redis);
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      await queue.addBulk(
        Array.from({ length: n }, (_, k) => ({ name: 'rotate', data: { targetId: `t${i + k}` } })),
      );
    }
    await poll(
      () => queue.getJobCountByTypes('completed', 'failed'),
      (n) => n >= jobs,
      300_000,
      `${jobs} bare jobs`,
    );
    const wallMs = performance.now() - t0;
    const s1 = child.sample()!;
    const r1 = await redisSnapshot(ctx.redis);
    const peakRss = child.peakRss();
    return { wallMs, workerCpuMs: s1.cpuMs - s0.cpuMs, redisCpuMs: r1.cpuMs - r0.cpuMs, peakRss };
  } finally {
    await child.stop();
    await queue.close();
    await deletePrefix(ctx.redis, prefix);
  }
}

export async function runOverheadBare(ctx: BenchContext, samples: Samples): Promise<ScenarioResult> {
  const out = emptyResult();
  const jobs = ctx.scale.overheadJobs;
  for (let r = 0; r < ctx.runs; r++) {
    const run = await oneRun(ctx, jobs);
    ctx.log(`bare BullMQ run ${r + 1}: ${(jobs / run.wallMs) * 1000} jobs/s`);
    samples.add('bare.jobsPerSec', (jobs / run.wallMs) * 1000);
    samples.add('bare.cpuMsPerJob', run.workerCpuMs / jobs);
    samples.add('bare.redisCpuMsPerJob', run.redisCpuMs / jobs);
    out.peakRss.push({ label: 'bare BullMQ worker', bytes: run.peakRss });
  }
  if (ctx.profile) {
    const prof = profileArgs('bare');
    await oneRun(ctx, jobs, prof.execArgv);
    const summary = summarizeProfiles(prof.dir, ctx.root);
    if (summary) out.profiles.push({ label: 'bare BullMQ worker (no-op jobs)', summary });
  }
  return out;
}
