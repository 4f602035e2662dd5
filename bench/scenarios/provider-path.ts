import { randomUUID } from 'node:crypto';
import type { RateLimit } from '../../src/util/rate-limit.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { forkChild } from '../child.js';
import { isResult, type ChildMessage } from '../children/protocol.js';
import { type BenchContext, childScript, emptyResult, profileArgs, type ScenarioResult } from '../context.js';
import { countCalls, fleetSpecs } from '../fleet.js';
import { summarizeProfiles } from '../profile.js';
import { deletePrefix } from '../redis-stats.js';
import type { Samples } from '../stats.js';
import { fleetBound, LATENCY_MS, rateLimitFor } from './bounds.js';

async function oneRun(ctx: BenchContext, rateLimit: RateLimit | undefined, execArgv: string[] = []) {
  const sandbox = await startSandbox({ latencyMs: LATENCY_MS, busyMs: 0, maxLogEntries: 1_000_000 });
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  for (const spec of fleetSpecs(ctx.scale.targets)) sandbox.clusters.add(spec);
  const child = forkChild<ChildMessage>(childScript('provider-path'), {
    env: {
      ...process.env,
      BENCH_PARAMS: JSON.stringify({
        sandboxUrl: sandbox.url,
        targets: ctx.scale.targets,
        concurrency: 100,
        rateLimit,
        redisUrl: ctx.redisUrl,
        prefix,
      }),
    },
    execArgv,
  });
  try {
    const m = await child.waitFor(isResult, 600_000);
    if (m.type === 'error') throw new Error(`provider path: ${m.message}`);
    await child.exited;
    const d = m.data as Record<string, number>;
    const calls = countCalls(sandbox.requests());
    const resets = sandbox.clusters.list().filter((c) => c.resetsApplied === 1).length;
    if (resets !== ctx.scale.targets)
      throw new Error(`${resets} of ${ctx.scale.targets} clusters were reset once`);
    const bound = fleetBound(calls, ctx.scale.targets, 100, rateLimit);
    return {
      wallMs: d.wallMs!,
      cpuMs: d.cpuMs!,
      calls,
      bound,
      peakRss: Math.max(child.peakRss(), d.maxRssBytes!),
    };
  } finally {
    await child.stop();
    await sandbox.close();
    await deletePrefix(ctx.redis, prefix);
  }
}

/** The cloud-facing floor: provider calls of each rotation, 100 targets at a time, no queue or store. */
export async function runProviderPath(ctx: BenchContext, samples: Samples): Promise<ScenarioResult> {
  const out = emptyResult();
  for (const [label, limit] of [
    ['provider', undefined],
    ['providerRate', rateLimitFor(ctx.scale.targets)],
  ] as const) {
    for (let r = 0; r < ctx.runs; r++) {
      const run = await oneRun(ctx, limit);
      samples.add(`${label}.wallMs`, run.wallMs);
      samples.add(`${label}.boundMs`, run.bound.boundMs);
      samples.add(`${label}.ratio`, run.wallMs / run.bound.boundMs);
      samples.add(`${label}.callsPerRotation`, run.bound.callsPerRotation);
      samples.add(`${label}.cpuMsPerRotation`, run.cpuMs / ctx.scale.targets);
      out.peakRss.push({ label: 'provider-path child', bytes: run.peakRss });
      ctx.log(
        `${label} run ${r + 1}: ${run.wallMs.toFixed(0)} ms vs bound ${run.bound.boundMs.toFixed(0)} ms ` +
          `(${run.bound.callsPerRotation.toFixed(2)} calls/rotation: ${JSON.stringify(run.calls)})`,
      );
    }
  }
  if (ctx.profile) {
    const prof = profileArgs('provider');
    await oneRun(ctx, undefined, prof.execArgv);
    const summary = summarizeProfiles(prof.dir, ctx.root);
    if (summary) out.profiles.push({ label: 'provider calls only (50 ms latency)', summary });
  }
  return out;
}
