import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { forkChild } from '../child.js';
import { isResult, type ChildMessage } from '../children/protocol.js';
import {
  type BenchContext,
  childScript,
  emptyResult,
  profileArgs,
  type ScenarioResult,
  tempDir,
} from '../context.js';
import { summarizeProfiles } from '../profile.js';
import type { Samples } from '../stats.js';

/** Bounded in time: the file store rate, not its completion, is the figure. */
const DEADLINE_MS = 20_000;

interface StoreRun {
  rotations: number;
  wallMs: number;
  cpuMs: number;
  maxRssBytes: number;
  peakRss: number;
}

async function oneRun(ctx: BenchContext, execArgv: string[] = []): Promise<StoreRun> {
  const dir = tempDir('store');
  const child = forkChild<ChildMessage>(childScript('store-pattern'), {
    env: {
      ...process.env,
      BENCH_PARAMS: JSON.stringify({
        path: join(dir, 'secrets.enc'),
        secrets: ctx.scale.targets,
        concurrency: 100,
        deadlineMs: DEADLINE_MS,
      }),
    },
    execArgv,
  });
  try {
    const m = await child.waitFor(isResult, DEADLINE_MS + 300_000);
    if (m.type === 'error') throw new Error(`store pattern: ${m.message}`);
    await child.exited;
    const d = m.data as Record<string, number>;
    return {
      rotations: d.rotations!,
      wallMs: d.wallMs!,
      cpuMs: d.cpuMs!,
      maxRssBytes: d.maxRssBytes!,
      peakRss: child.peakRss(),
    };
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file store under the calls of 10,000 first rotations, 100 at a time (no queue, no cloud). */
export async function runStorePattern(ctx: BenchContext, samples: Samples): Promise<ScenarioResult> {
  const out = emptyResult();
  for (let r = 0; r < ctx.runs; r++) {
    const d = await oneRun(ctx);
    const rate = (d.rotations / d.wallMs) * 1000;
    samples.add('store.rotationsPerSec', rate);
    samples.add('store.cpuMsPerRotation', d.cpuMs / d.rotations);
    samples.add('store.completedShare', d.rotations / ctx.scale.targets);
    out.peakRss.push({ label: 'file store pattern', bytes: Math.max(d.peakRss, d.maxRssBytes) });
    ctx.log(
      `store run ${r + 1}: ${d.rotations} rotations in ${d.wallMs.toFixed(0)} ms (${rate.toFixed(1)}/s)`,
    );
  }
  if (ctx.profile && ctx.quick) {
    // Only with --quick: the full run's time budget goes to the worker's profile.
    const prof = profileArgs('store');
    await oneRun(ctx, prof.execArgv);
    const summary = summarizeProfiles(prof.dir, ctx.root);
    if (summary) out.profiles.push({ label: 'file store under the rotation call pattern', summary });
  }
  return out;
}
