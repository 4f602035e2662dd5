import { randomUUID } from 'node:crypto';
import { forkChild } from '../child.js';
import { isResult, type ChildMessage } from '../children/protocol.js';
import { type BenchContext, childScript, emptyResult, type ScenarioResult } from '../context.js';
import { deletePrefix, redisSnapshot } from '../redis-stats.js';
import type { Samples } from '../stats.js';

/** BullMQ's own cost of 10,000 job schedulers: upsert each (32 in flight), then upsert them all again. */
export async function runSchedulesBare(ctx: BenchContext, samples: Samples): Promise<ScenarioResult> {
  const out = emptyResult();
  const targets = ctx.scale.targets;
  for (let r = 0; r < ctx.runs; r++) {
    const prefix = `bench-${randomUUID().slice(0, 8)}`;
    const before = await redisSnapshot(ctx.redis);
    const child = forkChild<ChildMessage>(childScript('bare-schedulers'), {
      env: {
        ...process.env,
        BENCH_PARAMS: JSON.stringify({
          redisUrl: ctx.redisUrl,
          prefix,
          queue: 'triggers',
          targets,
          parallelism: 32,
        }),
      },
    });
    try {
      const m = await child.waitFor(isResult, 300_000);
      if (m.type === 'error') throw new Error(`bare schedulers: ${m.message}`);
      await child.exited;
      const after = await redisSnapshot(ctx.redis);
      const d = m.data as Record<string, number>;
      if (d.schedulers !== targets) throw new Error(`expected ${targets} schedulers, found ${d.schedulers}`);
      samples.add('bareSched.coldMs', d.coldMs!);
      samples.add('bareSched.warmMs', d.warmMs!);
      samples.add('bareSched.bytesPerTarget', (after.usedMemory - before.usedMemory) / targets);
      out.peakRss.push({ label: 'bare scheduler upserts', bytes: Math.max(child.peakRss(), d.maxRssBytes!) });
      ctx.log(
        `bare schedulers run ${r + 1}: cold ${d.coldMs!.toFixed(0)} ms, warm ${d.warmMs!.toFixed(0)} ms`,
      );
    } finally {
      await child.stop();
      await deletePrefix(ctx.redis, prefix);
    }
  }
  return out;
}
