import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../src/util/redis-server.js';
import { parseArgs } from './args.js';
import { type BenchContext, repoRoot, type ScenarioResult } from './context.js';
import { describeMachine } from './machine.js';
import { renderReport } from './report.js';
import { runAwsQuota } from './scenarios/aws-quota.js';
import { runPipeline } from './scenarios/pipeline.js';
import { runProviderPath } from './scenarios/provider-path.js';
import { runSchedulesBare } from './scenarios/schedules-bare.js';
import { runStorePattern } from './scenarios/store-pattern.js';
import { workerAvailability, runWorkerScenarios } from './scenarios/worker.js';
import { buildRows } from './rows.js';
import { Samples } from './stats.js';
import { textTable } from './table.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scale = args.quick
    ? { targets: 1_000, overheadJobs: 2_000 }
    : { targets: 10_000, overheadJobs: 5_000 };
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  let privateRedis: PrivateRedis | undefined;
  const redisUrl = process.env.REDIS_URL ?? (privateRedis = await startPrivateRedis()).url;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const started = Date.now();
  const log = (m: string) =>
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
  try {
    const machine = await describeMachine(redis, load);
    const ctx: BenchContext = {
      redis,
      redisUrl,
      runs: args.runs,
      scale,
      quick: args.quick,
      profile: args.profile,
      root: repoRoot(),
      log,
    };
    // 'provider' (the providers alone, no queue or store) is a diagnostic: only with --only.
    const want = (name: string) => (args.only ? args.only.includes(name) : name !== 'provider');
    const samples = new Samples();
    const results: ScenarioResult[] = [];
    const worker = await workerAvailability(ctx);
    if (!worker.available) log(`worker scenarios skipped: ${worker.reason}`);
    if (want('fleet') || want('overhead'))
      results.push(await runPipeline(ctx, samples, want, worker.available));
    if (want('schedules')) results.push(await runSchedulesBare(ctx, samples));
    if (want('provider')) results.push(await runProviderPath(ctx, samples));
    if (want('store')) results.push(await runStorePattern(ctx, samples));
    if (worker.available) results.push(await runWorkerScenarios(ctx, samples, want));
    if (worker.available && want('aws')) results.push(await runAwsQuota(ctx, samples));
    const rows = buildRows(samples, results, ctx, worker, want);
    const table = textTable(rows);
    process.stdout.write(`${table}\n`);
    if (args.write) {
      const path = join(ctx.root, 'docs', 'benchmarks.md');
      writeFileSync(
        path,
        renderReport({ machine, rows, results, ctx, worker, args, elapsedMs: Date.now() - started }),
      );
      log(`wrote ${path}`);
    }
  } finally {
    await redis.quit();
    await privateRedis?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
