import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RotatorConfigInput } from '../../src/config/schema.js';
import { loadConfig } from '../../src/worker/config.js';
import { openQueues } from '../../src/queue/queues.js';
import type { RateLimit } from '../../src/util/rate-limit.js';
import { desiredSchedulers, reconcileSchedulers } from '../../src/queue/reconcile.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { type Sandbox, SandboxCluster, sandboxTarget, startSandbox } from '../../src/sandbox/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { readPassword } from '../../src/secrets/format.js';
import { createRotationControl } from '../../src/worker/control.js';
import { type ChildHandle, forkChild } from '../child.js';
import type { ChildMessage } from '../children/protocol.js';
import {
  type BenchContext,
  emptyResult,
  poll,
  profileArgs,
  type ScenarioResult,
  tempDir,
} from '../context.js';
import { countCalls, FLEET_ACCESS_KEY, FLEET_SECRET_KEY, fleetSpecs } from '../fleet.js';
import { summarizeProfiles } from '../profile.js';
import { commandCalls, commandDelta, deletePrefix, redisSnapshot } from '../redis-stats.js';
import type { Samples } from '../stats.js';
import { bareRun } from './overhead-bare.js';
import { CONCURRENCY, fleetBound, LATENCY_MS, rateLimitFor } from './bounds.js';

export interface WorkerAvailability {
  available: boolean;
  /** Why the worker scenarios cannot run, when they cannot. */
  reason?: string;
  /** The same, short enough for a table cell. */
  short?: string;
}

/** The worker scenarios need the rotation core and the `rotator worker` command (issue 5). */
export async function workerAvailability(ctx: BenchContext): Promise<WorkerAvailability> {
  const rotate = join(ctx.root, 'dist', 'src', 'rotation', 'rotate.js');
  const command = join(ctx.root, 'dist', 'src', 'cli', 'commands', 'worker.js');
  const missing: string[] = [];
  if (!existsSync(rotate)) missing.push('the rotation core (src/rotation/rotate.ts)');
  if (!existsSync(command) || readFileSync(command, 'utf8').includes('not yet implemented')) {
    missing.push('the worker (`rotator worker`, issue 5)');
  }
  return missing.length === 0
    ? { available: true }
    : {
        available: false,
        reason: `${missing.join(' and ')} not on main yet`,
        short: 'not run: worker not landed',
      };
}

/** Status polls 1 ms apart: the settle step waits that long before its first poll. */
export const POLL_INTERVAL_MS = 1;
const BIN = (ctx: BenchContext) => join(ctx.root, 'dist', 'src', 'cli', 'bin.js');

interface Setup {
  dir: string;
  configPath: string;
  env: NodeJS.ProcessEnv;
  prefix: string;
  storePath: string;
  storeKeyHex: string;
  cleanup(): Promise<void>;
}

/** A config file with one target per sandbox cluster, the file store, and the fleet's account in env. */
function writeSetup(ctx: BenchContext, sandboxUrl: string, n: number, rateLimit?: RateLimit): Setup {
  const dir = tempDir('worker');
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const storePath = join(dir, 'secrets.enc');
  const storeKeyHex = randomBytes(32).toString('hex');
  const targets = fleetSpecs(n).map(
    (spec) =>
      sandboxTarget(sandboxUrl, new SandboxCluster(spec, spec.key!, `${sandboxUrl}/_dataplane/${spec.key}`))
        .config,
  );
  const limits = rateLimit
    ? Object.fromEntries(
        ['huaweicloud-css', 'otc-css', 'ncp-cdss'].map((id) => [
          id,
          { rateLimit: { max: rateLimit.max, per: rateLimit.per } },
        ]),
      )
    : {};
  const config = {
    redis: { url: ctx.redisUrl, prefix },
    store: { type: 'file', path: storePath, key: { env: 'BENCH_STORE_KEY' } },
    defaults: { timing: { pollInterval: POLL_INTERVAL_MS } },
    providers: limits,
    worker: { concurrency: CONCURRENCY },
    audit: { path: join(dir, 'audit.jsonl') },
    targets,
  } satisfies RotatorConfigInput;
  const configPath = join(dir, 'rotator.json');
  writeFileSync(configPath, JSON.stringify(config));
  return {
    dir,
    configPath,
    prefix,
    storePath,
    storeKeyHex,
    env: {
      ...process.env,
      SANDBOX_ACCESS_KEY: FLEET_ACCESS_KEY,
      SANDBOX_SECRET_KEY: FLEET_SECRET_KEY,
      BENCH_STORE_KEY: storeKeyHex,
    },
    async cleanup() {
      await deletePrefix(ctx.redis, prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `rotator worker`; resolves once it logged 'worker started', with spawn-to-reconciled time. */
export async function startWorker(
  ctx: BenchContext,
  setup: Pick<Setup, 'configPath' | 'env'>,
  execArgv: string[] = [],
): Promise<{ child: ChildHandle<ChildMessage>; startToReconciledMs: number }> {
  const t0 = performance.now();
  const child = forkChild<ChildMessage>(BIN(ctx), {
    args: ['worker', '--config', setup.configPath],
    env: setup.env,
    execArgv,
    watch: /job schedulers reconciled|worker started/,
  });
  const reconciledAt = await child.waitForLine('job schedulers reconciled', 300_000);
  await child.waitForLine('worker started', 60_000);
  return { child, startToReconciledMs: reconciledAt - t0 };
}

async function checkOutcome(sandbox: Sandbox, setup: Setup, failed: number): Promise<void> {
  if (failed > 0) throw new Error(`${failed} rotations failed`);
  const clusters = sandbox.clusters.list();
  const notOnce = clusters.filter((c) => c.resetsApplied !== 1).length;
  if (notOnce > 0) throw new Error(`${notOnce} of ${clusters.length} clusters were not reset exactly once`);
  const store = createFileStore({ path: setup.storePath, keyBytes: Buffer.from(setup.storeKeyHex, 'hex') });
  let wrong = 0;
  for (const c of clusters) {
    const current = await store.getCurrent(`sandbox/${c.key}`);
    if ((current && readPassword(current.text, 'json')) !== c.password) wrong += 1;
  }
  await store.close();
  if (wrong > 0) throw new Error(`${wrong} targets: the store's current password is not the cluster's`);
}

interface FleetRun {
  wallMs: number;
  enqueueMs: number;
  workerCpuMs: number;
  redisCpuMs: number;
  redisCommands: number;
  /** Redis commands over the window by name, largest first. */
  commandMix: [string, number][];
  peakRss: number;
  callsPerRotation: number;
  boundMs: number;
}

/**
 * The real worker rotates every target once ("rotate --all"): clock from the first enqueue to the
 * last completion. Exported for one-off experiments (execArgv such as heap limits).
 */
export async function fleetRun(
  ctx: BenchContext,
  n: number,
  latencyMs: number,
  rateLimit: RateLimit | undefined,
  execArgv: string[] = [],
): Promise<FleetRun> {
  const sandbox = await startSandbox({ latencyMs, busyMs: 0, maxLogEntries: 2_000_000 });
  for (const spec of fleetSpecs(n)) sandbox.clusters.add(spec);
  const setup = writeSetup(ctx, sandbox.url, n, rateLimit);
  let child: ChildHandle<ChildMessage> | undefined;
  const config = loadConfig(setup.configPath, setup.env);
  const queues = openQueues(ctx.redis, setup.prefix);
  try {
    child = (await startWorker(ctx, setup, execArgv)).child;
    const control = createRotationControl(config, queues, new TargetStateStore(ctx.redis, setup.prefix));
    const s0 = child.sample();
    const r0 = await redisSnapshot(ctx.redis);
    const c0 = await commandCalls(ctx.redis);
    const t0 = performance.now();
    await control.rotate({ targets: 'all', trigger: 'cli', actor: 'bench' });
    const enqueueMs = performance.now() - t0;
    await poll(
      () => queues.rotations.getJobCountByTypes('completed', 'failed'),
      (c) => c >= n,
      900_000,
      `${n} rotations by the worker`,
      50,
    );
    const wallMs = performance.now() - t0;
    const s1 = child.sample();
    const r1 = await redisSnapshot(ctx.redis);
    const c1 = await commandCalls(ctx.redis);
    if (!s0 || !s1) throw new Error('cannot read /proc of the worker');
    const failed = await queues.rotations.getJobCountByTypes('failed');
    await checkOutcome(sandbox, setup, failed);
    const bound = fleetBound(countCalls(sandbox.requests()), n, CONCURRENCY, rateLimit, POLL_INTERVAL_MS);
    return {
      wallMs,
      enqueueMs,
      workerCpuMs: s1.cpuMs - s0.cpuMs,
      redisCpuMs: r1.cpuMs - r0.cpuMs,
      redisCommands: r1.commands - r0.commands,
      commandMix: commandDelta(c0, c1),
      peakRss: child.peakRss(),
      callsPerRotation: bound.callsPerRotation,
      boundMs: bound.boundMs,
    };
  } finally {
    await child?.stop(30_000);
    await queues.close();
    await sandbox.close();
    await setup.cleanup();
  }
}

/** Reconcile of n targets: the function itself (cold, then unchanged), and worker start to reconciled. */
async function schedulesRun(
  ctx: BenchContext,
  n: number,
  samples: Samples,
  out: ScenarioResult,
): Promise<void> {
  const sandbox = await startSandbox({});
  const setup = writeSetup(ctx, sandbox.url, n);
  const config = loadConfig(setup.configPath, setup.env);
  const queues = openQueues(ctx.redis, setup.prefix);
  try {
    const desired = desiredSchedulers(config);
    const m0 = await redisSnapshot(ctx.redis);
    let t = performance.now();
    const cold = await reconcileSchedulers(queues.triggers, ctx.redis, setup.prefix, desired);
    const coldMs = performance.now() - t;
    const m1 = await redisSnapshot(ctx.redis);
    t = performance.now();
    const warm = await reconcileSchedulers(queues.triggers, ctx.redis, setup.prefix, desired);
    const warmMs = performance.now() - t;
    if (cold.added.length !== desired.length || warm.unchanged !== desired.length) {
      throw new Error(
        `reconcile: cold added ${cold.added.length}, warm unchanged ${warm.unchanged} of ${desired.length}`,
      );
    }
    samples.add('reconcile.coldMs', coldMs);
    samples.add('reconcile.warmMs', warmMs);
    samples.add('reconcile.bytesPerTarget', (m1.usedMemory - m0.usedMemory) / n);
    // A restart of the real worker with nothing changed: process start to schedulers reconciled.
    const restart = await startWorker(ctx, setup);
    samples.add('reconcile.restartMs', restart.startToReconciledMs);
    out.peakRss.push({
      label: `worker, restart with ${n.toLocaleString('en-US')} targets`,
      bytes: restart.child.peakRss(),
    });
    await restart.child.stop(30_000);
    ctx.log(
      `reconcile ${n}: cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms, worker restart to reconciled ${restart.startToReconciledMs.toFixed(0)} ms`,
    );
  } finally {
    await queues.close();
    await sandbox.close();
    await setup.cleanup();
  }
}

export async function runWorkerScenarios(
  ctx: BenchContext,
  samples: Samples,
  want: (name: string) => boolean,
): Promise<ScenarioResult> {
  const out = emptyResult();
  const n = ctx.scale.targets;
  for (let r = 0; r < ctx.runs; r++) {
    if (want('schedules')) await schedulesRun(ctx, n, samples, out);
    if (want('fleet')) {
      for (const [label, limit] of [
        ['fleet', undefined],
        ['fleetRate', rateLimitFor(n)],
      ] as const) {
        const run = await fleetRun(ctx, n, LATENCY_MS, limit);
        samples.add(`${label}.wallMs`, run.wallMs);
        samples.add(`${label}.boundMs`, run.boundMs);
        samples.add(`${label}.ratio`, run.wallMs / run.boundMs);
        samples.add(`${label}.callsPerRotation`, run.callsPerRotation);
        samples.add(`${label}.enqueueMs`, run.enqueueMs);
        samples.add(`${label}.cpuMsPerRotation`, run.workerCpuMs / n);
        // VmHWM: the kernel's high-water mark over the worker's whole life, start-up included.
        out.peakRss.push(
          label === 'fleet'
            ? {
                label: `worker, fleet ${n.toLocaleString('en-US')} (peak)`,
                bytes: run.peakRss,
                target: '< 200',
              }
            : { label: `worker, fleet ${n.toLocaleString('en-US')} + rate limit (peak)`, bytes: run.peakRss },
        );
        ctx.log(
          `worker ${label} run ${r + 1}: ${run.wallMs.toFixed(0)} ms vs bound ${run.boundMs.toFixed(0)} ms ` +
            `(enqueue ${run.enqueueMs.toFixed(0)} ms, ${run.callsPerRotation.toFixed(2)} calls/rotation)`,
        );
      }
    }
    if (want('overhead')) {
      const jobs = ctx.scale.overheadJobs;
      const bare = await bareRun(ctx, jobs);
      const run = await fleetRun(ctx, jobs, 0, undefined);
      samples.add('bare.jobsPerSec', (jobs / bare.wallMs) * 1000);
      samples.add('bare.cpuMsPerJob', bare.workerCpuMs / jobs);
      samples.add('bare.redisCpuMsPerJob', bare.redisCpuMs / jobs);
      samples.add('bare.redisCmdsPerJob', bare.redisCommands / jobs);
      samples.add('pipeline.redisCmdsPerJob', run.redisCommands / jobs);
      samples.add('pipeline.jobsPerSec', (jobs / run.wallMs) * 1000);
      samples.add('pipeline.cpuMsPerJob', run.workerCpuMs / jobs);
      samples.add('pipeline.extraCpuMsPerJob', (run.workerCpuMs - bare.workerCpuMs) / jobs);
      samples.add('pipeline.redisCpuMsPerJob', run.redisCpuMs / jobs);
      out.peakRss.push({
        label: `worker, ${jobs.toLocaleString('en-US')} jobs at 0 ms latency`,
        bytes: run.peakRss,
      });
      out.peakRss.push({ label: 'bare BullMQ worker', bytes: bare.peakRss });
      if (r === 0) {
        const mix = (m: [string, number][]) =>
          m
            .slice(0, 12)
            .map(([cmd, k]) => `${cmd} ${(k / jobs).toFixed(1)}`)
            .join(', ');
        out.notes.push(
          `Redis commands per rotation, worker at 0 ms latency (run 1, the bench's progress poll included): ${mix(run.commandMix)}.`,
          `Redis commands per job, bare BullMQ in the same run: ${mix(bare.commandMix)}.`,
        );
      }
      ctx.log(
        `worker overhead run ${r + 1}: worker ${((jobs / run.wallMs) * 1000).toFixed(0)} rotations/s ` +
          `${(run.workerCpuMs / jobs).toFixed(3)} ms CPU; bare ${((jobs / bare.wallMs) * 1000).toFixed(0)} jobs/s ` +
          `${(bare.workerCpuMs / jobs).toFixed(3)} ms CPU`,
      );
    }
  }
  if (ctx.profile && (want('fleet') || want('overhead'))) {
    const prof = profileArgs('worker');
    await fleetRun(ctx, Math.min(2_000, ctx.scale.overheadJobs), 0, undefined, prof.execArgv);
    const summary = summarizeProfiles(prof.dir, ctx.root);
    if (summary) out.profiles.push({ label: 'the worker (`rotator worker`), 0 ms latency', summary });
    else out.notes.push('the worker child wrote no CPU profile (it did not exit normally on SIGTERM)');
  }
  return out;
}
