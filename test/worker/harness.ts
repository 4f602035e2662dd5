import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { validateConfig } from '../../src/worker/config.js';
import { applyRedisUrl, type RedisConfigInput } from '../../src/config/redis-schema.js';
import type { RotatorConfig, RotatorConfigInput, TargetConfig } from '../../src/config/schema.js';
import { createLogger, SecretRegistry } from '../../src/log/index.js';
import type { ProviderId } from '../../src/config/provider-ids.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import type { RedisConnection } from '../../src/util/redis-connection.js';
import {
  startSandbox,
  type Sandbox,
  type SandboxCluster,
  type SandboxFault,
  sandboxTarget,
} from '../../src/sandbox/index.js';
import { buildComponents, type BuiltComponents } from '../../src/worker/components.js';
import {
  startWorkerRuntime,
  type WorkerRuntime,
  type WorkerRuntimeOptions,
} from '../../src/worker/runtime.js';
import type { Alert } from '../../src/alerts/types.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

export interface HarnessCluster {
  key: string;
  provider?: ProviderId;
  faults?: SandboxFault[];
  /** Target overrides (schedule, timing, retry...). */
  target?: Partial<TargetConfig>;
}

export interface HarnessOptions {
  clusters: HarnessCluster[];
  /** Config overrides (defaults, worker, watchdog...). */
  config?: Partial<RotatorConfigInput>;
  busyMs?: number;
  runtime?: Partial<Omit<WorkerRuntimeOptions, 'config' | 'components'>>;
  /** Changes the validated config before the worker starts (e.g. sub-minute test schedules). */
  mutate?: (config: RotatorConfig) => void;
  /** Redis to use (default the run's). */
  redisUrl?: string;
  /** The whole redis block instead (its prefix is set by the harness): TLS, Sentinel, Cluster. */
  redis?: Omit<RedisConfigInput, 'prefix'>;
  /** Environment of the redis block's references (e.g. its password); added to the fleet's env. */
  redisEnv?: NodeJS.ProcessEnv;
  /** Changes the built components before the worker starts (e.g. a failing audit trail). */
  wrapComponents?: (components: BuiltComponents) => BuiltComponents;
  /** Runs before the worker starts, once the fleet and the components exist (e.g. leave a pending version). */
  beforeStart?: (fleet: Fleet, components: BuiltComponents) => Promise<void>;
}

export interface Harness {
  prefix: string;
  dir: string;
  sandbox: Sandbox;
  clusters: Map<string, SandboxCluster>;
  config: RotatorConfig;
  env: NodeJS.ProcessEnv;
  components: BuiltComponents;
  runtime: WorkerRuntime;
  redis: RedisConnection;
  alerts: Alert[];
  logs: string[];
  close(): Promise<void>;
}

/** Fast timings so a rotation takes well under a second against the sandbox. */
export const FAST_DEFAULTS = {
  retry: { attempts: 5, initialDelay: '50ms', maxDelay: '300ms' },
  timing: {
    readyTimeout: '10s',
    settleTimeout: '10s',
    pollInterval: '50ms',
    requestTimeout: '2s',
    busyBudget: '20s',
    maxPasswordRejections: 3,
  },
} as const;

export function clusterSpec(c: HarnessCluster, i: number) {
  const provider = c.provider ?? 'otc-css';
  const base = {
    provider,
    key: c.key,
    accessKey: `HARNESSAK${String(i).padStart(11, '0')}`,
    secretKey: `harness-sk-${i}-${Math.random().toString(36).slice(2)}`,
    password: `Start-Pass-${i}-Qx7!`,
  };
  return provider === 'ncp-cdss'
    ? { ...base, serviceGroupInstanceNo: String(2_000_000 + i) }
    : { ...base, projectId: 'harness00000000000000000000000001', clusterId: c.key };
}

export function harnessConfig(
  prefix: string,
  dir: string,
  sandbox: Sandbox,
  specs: HarnessCluster[],
  clusters: SandboxCluster[],
  extra: Partial<RotatorConfigInput> = {},
): { config: RotatorConfig; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  const targets = clusters.map((cluster, i) => {
    const { config } = sandboxTarget(sandbox.url, cluster);
    env[`H_AK_${i}`] = cluster.spec.accessKey;
    env[`H_SK_${i}`] = cluster.spec.secretKey;
    return {
      ...config,
      id: cluster.key,
      secret: { id: `h/${cluster.key}`, username: cluster.username },
      credentials: { accessKey: { env: `H_AK_${i}` }, secretKey: { env: `H_SK_${i}` } },
      ...specs[i]!.target,
    };
  });
  const result = validateConfig({
    redis: { prefix },
    store: { type: 'file', path: join(dir, 'secrets.json') },
    audit: { path: join(dir, 'audit.jsonl') },
    defaults: FAST_DEFAULTS,
    ...extra,
    // A short lease: an orphaned pending version is adopted after 3 s instead of 30 s.
    worker: { concurrency: 20, shutdownTimeout: '5s', leaseDuration: '3s', ...extra.worker },
    targets,
  });
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  if (!extra.redis) {
    // The run's Redis is given like REDIS_URL: its URL may carry a password, a config file's may not.
    const applied = applyRedisUrl(result.config.redis, redisUrl());
    if (!applied.ok) throw new Error(`REDIS_URL: ${applied.message}`);
    result.config.redis = applied.redis;
  }
  return { config: result.config, env };
}

export interface Fleet {
  prefix: string;
  dir: string;
  sandbox: Sandbox;
  clusters: Map<string, SandboxCluster>;
  config: RotatorConfig;
  env: NodeJS.ProcessEnv;
  redis: RedisConnection;
  close(): Promise<void>;
}

/** The sandbox with its clusters, the config pointing at it, a Redis connection: no worker. */
export async function startFleet(options: HarnessOptions & { sameAccount?: boolean }): Promise<Fleet> {
  const prefix = uniquePrefix('w');
  const dir = await mkdtemp(join(tmpdir(), 'rotator-harness-'));
  const sandbox = await startSandbox({ busyMs: options.busyMs ?? 150 });
  const clusters = options.clusters.map((c, i) => {
    const spec = clusterSpec(c, i);
    if (options.sameAccount) {
      spec.accessKey = 'HARNESSSHAREDACCOUNT';
      spec.secretKey = 'harness-shared-secret-key';
    }
    const cluster = sandbox.clusters.add(spec);
    if (c.faults?.length) cluster.pushFault(...c.faults);
    return cluster;
  });
  const { config, env } = harnessConfig(prefix, dir, sandbox, options.clusters, clusters, {
    ...(options.redisUrl ? { redis: { url: options.redisUrl, prefix } } : {}),
    ...(options.redis ? { redis: { ...options.redis, prefix } } : {}),
    ...options.config,
  });
  Object.assign(env, options.redisEnv);
  options.mutate?.(config);
  const redis = createRedisConnection(config.redis, { env, name: 'test-harness' });
  return {
    prefix,
    dir,
    sandbox,
    clusters: new Map(clusters.map((c) => [c.key, c])),
    config,
    env,
    redis,
    async close() {
      // A cluster's servers belong to its test, which stops them; KEYS would ask one node only.
      if (!(redis instanceof Cluster)) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
      }
      await redis.quit();
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const fleet = await startFleet(options);
  const { config, env, redis } = fleet;
  const alerts: Alert[] = [];
  const logs: string[] = [];
  const registry = new SecretRegistry();
  const built = await buildComponents({
    config,
    redis,
    env,
    registry,
    logger: createLogger({
      level: 'debug',
      registry,
      destination: {
        write: (line: string) => {
          logs.push(line);
        },
      },
    }),
    extraSinks: [{ name: 'capture', send: async (a) => void alerts.push(a) }],
    alertFoldWindowMs: 1,
  });
  const components = options.wrapComponents ? options.wrapComponents(built) : built;
  await options.beforeStart?.(fleet, components);
  const runtime = await startWorkerRuntime({
    config,
    components,
    connection: redis,
    lockDuration: 5_000,
    stalledInterval: 2_000,
    ...options.runtime,
  });
  return {
    ...fleet,
    components,
    runtime,
    alerts,
    logs,
    async close() {
      await runtime.close(2_000);
      await fleet.close();
    },
  };
}
