import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/problems.js';
import { loadConfig } from '../../src/worker/config.js';
import type { RotatorConfigInput } from '../../src/config/schema.js';
import { openQueues } from '../../src/queue/queues.js';
import { TargetStateStore } from '../../src/queue/target-state.js';
import { SandboxCluster, sandboxTarget, startSandbox } from '../../src/sandbox/index.js';
import { readPassword } from '../../src/secrets/format.js';
import { createRotationControl } from '../../src/worker/control.js';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../../test/support/secrets-manager/endpoint.js';
import type { ChildHandle } from '../child.js';
import type { ChildMessage } from '../children/protocol.js';
import { type BenchContext, emptyResult, poll, type ScenarioResult, tempDir } from '../context.js';
import { FLEET_ACCESS_KEY, FLEET_INITIAL_PASSWORD, FLEET_SECRET_KEY, fleetSpecs } from '../fleet.js';
import { deletePrefix } from '../redis-stats.js';
import type { Samples } from '../stats.js';
import { CONCURRENCY, LATENCY_MS } from './bounds.js';
import { POLL_INTERVAL_MS, startWorker } from './worker.js';

/**
 * AWS's combined quota on PutSecretValue + UpdateSecretVersionStage is 50 per second per region
 * (see WriteQuota in test/support/secrets-manager/model.ts). The bench keeps AWS's rate and scales
 * the fleet down instead: 200 targets make about 1,000 writes, a quota bound of about 20 s.
 */
export const AWS_QUOTA = { max: 50, perMs: 1000 } as const;
export const AWS_TARGETS = 200;

/** The metric helper A's store pacing adds (absent on builds without `store.rateLimit`). */
const THROTTLE_METRIC = 'rotator_store_throttled_total';

export interface AwsQuotaRun {
  wallMs: number;
  /** Accepted quota writes x perMs / max: the fastest the endpoint lets them through. */
  boundMs: number;
  accepted: number;
  throttled: number;
  failed: number;
  /** Runs of the rotation job beyond the first, over all targets (whole-rotation retries). */
  rotationRetries: number;
  /** The worker's rotator_store_throttled_total at the end, when it exports it. */
  storeThrottled: number | undefined;
  /** Whether this build took `store.rateLimit` (else the run went without it). */
  rateLimitSet: boolean;
  /** Accepted quota writes by operation. */
  acceptedBy: Record<string, number>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The sum of a counter's samples in a Prometheus text exposition, undefined when it is not there. */
export function counterTotal(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/**
 * Writes the config; with `rateLimit` when this build's schema takes `store.rateLimit`, else
 * without it, so the same bench measures before and after the store pacing lands.
 */
function writeConfig(path: string, config: Record<string, unknown>, env: NodeJS.ProcessEnv): boolean {
  writeFileSync(path, JSON.stringify(config));
  try {
    loadConfig(path, env);
    return true;
  } catch (err) {
    const onlyRateLimit =
      err instanceof ConfigError && err.problems.every((p) => p.path.startsWith('store.rateLimit'));
    if (!onlyRateLimit) throw err;
  }
  const store = { ...(config.store as Record<string, unknown>) };
  delete store.rateLimit;
  writeFileSync(path, JSON.stringify({ ...config, store }));
  loadConfig(path, env);
  return false;
}

/** Secrets as a rotation finds them after the first one: the current password, nothing pending. */
function seedSecrets(sm: SecretsManagerEndpoint, clusters: readonly SandboxCluster[], ids: string[]): void {
  clusters.forEach((c, i) => {
    sm.model.CreateSecret({
      Name: ids[i],
      ClientRequestToken: randomUUID(),
      SecretString: JSON.stringify({ username: c.username, password: FLEET_INITIAL_PASSWORD }),
    });
  });
}

/**
 * The real worker rotates `n` sandbox targets once ("rotate --all") on the aws-secrets-manager
 * store, against the loopback endpoint enforcing AWS's write quota. Clock from the first enqueue to
 * the last completion, as in the fleet scenario.
 */
export async function awsQuotaRun(ctx: BenchContext, n: number): Promise<AwsQuotaRun> {
  const sandbox = await startSandbox({ latencyMs: LATENCY_MS, busyMs: 0, maxLogEntries: 2_000_000 });
  const sm = await startSecretsManagerEndpoint({ writeQuota: AWS_QUOTA });
  const dir = tempDir('aws');
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  let child: ChildHandle<ChildMessage> | undefined;
  const queues = openQueues(ctx.redis, prefix);
  try {
    const specs = fleetSpecs(n);
    for (const spec of specs) sandbox.clusters.add(spec);
    const clusters = specs.map(
      (spec) => new SandboxCluster(spec, spec.key!, `${sandbox.url}/_dataplane/${spec.key}`),
    );
    const targets = clusters.map((c) => sandboxTarget(sandbox.url, c).config);
    seedSecrets(
      sm,
      clusters,
      targets.map((t) => t.secret.id),
    );
    const httpToken = randomBytes(16).toString('hex');
    const config = {
      redis: { url: ctx.redisUrl, prefix },
      store: {
        type: 'aws-secrets-manager',
        region: sm.region,
        endpoint: sm.url,
        // What the bench models: the quota itself (the limiter adds its own guard window).
        rateLimit: { max: AWS_QUOTA.max, per: AWS_QUOTA.perMs },
      },
      defaults: { timing: { pollInterval: POLL_INTERVAL_MS } },
      worker: { concurrency: CONCURRENCY },
      http: { port: await freePort(), token: { env: 'BENCH_HTTP_TOKEN' } },
      audit: { path: join(dir, 'audit.jsonl') },
      targets,
    } satisfies Omit<RotatorConfigInput, 'store'> & { store: Record<string, unknown> };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SANDBOX_ACCESS_KEY: FLEET_ACCESS_KEY,
      SANDBOX_SECRET_KEY: FLEET_SECRET_KEY,
      AWS_ACCESS_KEY_ID: sm.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sm.credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      BENCH_HTTP_TOKEN: httpToken,
    };
    const configPath = join(dir, 'rotator.json');
    const rateLimitSet = writeConfig(configPath, config, env);
    const loaded = loadConfig(configPath, env);

    child = (await startWorker(ctx, { configPath, env })).child;
    const control = createRotationControl(loaded, queues, new TargetStateStore(ctx.redis, prefix));
    // Seeding went straight to the model, so the quota's counts start at 0 here.
    const quota = sm.writeQuota!;
    const t0 = performance.now();
    await control.rotate({ targets: 'all', trigger: 'cli', actor: 'bench' });
    await poll(
      () => queues.rotations.getJobCountByTypes('completed', 'failed'),
      (c) => c >= n,
      900_000,
      `${n} rotations by the worker on the aws store`,
      50,
    );
    const wallMs = performance.now() - t0;
    const { accepted, throttled } = quota;
    const failed = await queues.rotations.getJobCountByTypes('failed');

    const res = await fetch(`http://127.0.0.1:${config.http.port}/metrics`, {
      headers: { authorization: `Bearer ${httpToken}` },
    });
    if (!res.ok) throw new Error(`worker /metrics answered ${res.status}`);
    const storeThrottled = counterTotal(await res.text(), THROTTLE_METRIC);

    let rotationRetries = 0;
    for (const job of await queues.rotations.getJobs(['completed'])) {
      const attempts = (job.returnvalue as { attempts?: number } | null)?.attempts ?? 1;
      rotationRetries += attempts - 1;
    }
    // Nothing lost: every secret's current password is the one its cluster accepts.
    const live = new Map(sandbox.clusters.list().map((c) => [c.key, c.password]));
    let wrong = 0;
    clusters.forEach((c, i) => {
      const current = sm.model.GetSecretValue({ SecretId: targets[i]!.secret.id });
      if (readPassword(String(current.SecretString), 'json') !== live.get(c.key)) wrong += 1;
    });
    if (wrong > 0 && failed === 0) {
      throw new Error(`${wrong} targets: the store's current password is not the cluster's`);
    }
    return {
      wallMs,
      boundMs: (accepted * AWS_QUOTA.perMs) / AWS_QUOTA.max,
      accepted,
      throttled,
      failed,
      rotationRetries,
      storeThrottled,
      rateLimitSet,
      acceptedBy: { ...quota.acceptedBy },
    };
  } finally {
    await child?.stop(30_000);
    await queues.close();
    await sm.close();
    await sandbox.close();
    await deletePrefix(ctx.redis, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAwsQuota(ctx: BenchContext, samples: Samples): Promise<ScenarioResult> {
  const out = emptyResult();
  const n = AWS_TARGETS;
  let rateLimitSet: boolean | undefined;
  for (let r = 0; r < ctx.runs; r++) {
    const run = await awsQuotaRun(ctx, n);
    rateLimitSet = run.rateLimitSet;
    if (r === 0) {
      const by = Object.entries(run.acceptedBy)
        .map(([op, k]) => `${op} ${(k / n).toFixed(2)}`)
        .join(', ');
      out.notes.push(`AWS store: quota writes per rotation by operation (run 1): ${by}.`);
      ctx.log(`aws quota run 1: writes per rotation by operation: ${by}`);
    }
    const writes = run.accepted + run.throttled;
    samples.add('aws.wallMs', run.wallMs);
    samples.add('aws.boundMs', run.boundMs);
    samples.add('aws.ratio', run.wallMs / run.boundMs);
    samples.add('aws.throttledShare', writes === 0 ? 0 : run.throttled / writes);
    samples.add('aws.failed', run.failed);
    samples.add('aws.writesPerRotation', run.accepted / n);
    samples.add('aws.rotationRetries', run.rotationRetries);
    if (run.storeThrottled !== undefined) samples.add('aws.storeThrottled', run.storeThrottled);
    ctx.log(
      `aws quota run ${r + 1}: ${run.wallMs.toFixed(0)} ms vs quota bound ${run.boundMs.toFixed(0)} ms, ` +
        `${run.accepted} writes accepted, ${run.throttled} throttled, ${run.failed} failed, ` +
        `${run.rotationRetries} rotation retries, store.rateLimit ${run.rateLimitSet ? 'set' : 'not on this build'}`,
    );
  }
  out.notes.push(
    rateLimitSet
      ? `AWS store: the worker ran with store.rateLimit ${AWS_QUOTA.max} per ${AWS_QUOTA.perMs} ms, the quota itself.`
      : 'AWS store: this build has no store.rateLimit; the worker ran without store write pacing.',
  );
  return out;
}
