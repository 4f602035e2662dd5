import { Queue } from 'bullmq';
import { forkChild } from './child.js';
import { isReady, type ChildMessage } from './children/protocol.js';
import { type BenchContext, childScript, poll } from './context.js';
import { commandCalls, commandDelta, redisSnapshot } from './redis-stats.js';

export interface JobRun {
  wallMs: number;
  /** CPU of the worker child over the window, ms (from /proc). */
  workerCpuMs: number;
  redisCpuMs: number;
  /** Redis commands processed over the window (all clients, the poller included). */
  redisCommands: number;
  /** Redis commands over the window by name, largest first. */
  commandMix: [string, number][];
  peakRss: number;
  completed: number;
  failed: number;
}

export interface JobRunOptions {
  child: string;
  params: Record<string, unknown>;
  prefix: string;
  queue: string;
  jobs: number;
  data: (i: number) => Record<string, unknown>;
  execArgv?: string[];
  timeoutMs?: number;
}

/**
 * Starts a worker child, waits until it is idle and ready, adds `jobs` jobs (addBulk, 1000 at a
 * time) and runs the clock until every one is completed or failed. The child is stopped at the end.
 */
export async function jobRun(ctx: BenchContext, o: JobRunOptions): Promise<JobRun> {
  const child = forkChild<ChildMessage>(childScript(o.child), {
    env: { ...process.env, BENCH_PARAMS: JSON.stringify(o.params) },
    execArgv: o.execArgv ?? [],
  });
  const queue = new Queue(o.queue, { connection: ctx.redis, prefix: o.prefix });
  try {
    await child.waitFor(isReady, 60_000);
    const s0 = child.sample();
    const r0 = await redisSnapshot(ctx.redis);
    const c0 = await commandCalls(ctx.redis);
    const t0 = performance.now();
    for (let i = 0; i < o.jobs; i += 1000) {
      const n = Math.min(1000, o.jobs - i);
      await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'rotate', data: o.data(i + k) })));
    }
    await poll(
      () => queue.getJobCountByTypes('completed', 'failed'),
      (n) => n >= o.jobs,
      o.timeoutMs ?? 600_000,
      `${o.jobs} jobs of ${o.child}`,
    );
    const wallMs = performance.now() - t0;
    const s1 = child.sample();
    const r1 = await redisSnapshot(ctx.redis);
    const c1 = await commandCalls(ctx.redis);
    if (!s0 || !s1) throw new Error(`cannot read /proc for child ${o.child}`);
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.failed ?? 0) > 0) {
      const [job] = await queue.getFailed(0, 0);
      ctx.log(`${counts.failed} jobs failed; first: ${job?.failedReason ?? '?'}`);
    }
    return {
      wallMs,
      workerCpuMs: s1.cpuMs - s0.cpuMs,
      redisCpuMs: r1.cpuMs - r0.cpuMs,
      redisCommands: r1.commands - r0.commands,
      commandMix: commandDelta(c0, c1),
      peakRss: child.peakRss(),
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    };
  } finally {
    await child.stop();
    await queue.close();
  }
}
