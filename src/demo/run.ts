import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../worker/config.js';
import { applyRedisUrl } from '../config/redis-schema.js';
import type { RotatorConfig, TargetConfig } from '../config/schema.js';
import { createLogger, processSecrets, SecretRegistry } from '../log/index.js';
import type { ProviderId } from '../config/provider-ids.js';
import {
  startSandbox,
  type Sandbox,
  type SandboxCluster,
  type SandboxFault,
  sandboxTarget,
} from '../sandbox/index.js';
import {
  connectClient,
  createClientConnection,
  createRedisConnection,
  describeRedis,
} from '../queue/connection.js';
import type { RedisConnection } from '../util/redis-connection.js';
import { type RotationOutcome, waitForRotations } from '../queue/wait.js';
import { type PrivateRedis, RedisServerMissingError, startPrivateRedis } from '../util/redis-server.js';
import { buildComponents } from '../worker/components.js';
import { startWorkerRuntime, type WorkerRuntime } from '../worker/runtime.js';
import type { Alert } from '../alerts/types.js';
import { formatTable } from '../util/table.js';
import { readSecret, secretFormatOf } from '../secrets/format.js';

/** One demo cluster: what it simulates and what the demo expects of its rotation. */
export interface DemoCluster {
  key: string;
  provider: ProviderId;
  faults: SandboxFault[];
  expect: 'succeeded' | 'alerted';
  note: string;
}

export const DEMO_CLUSTERS: readonly DemoCluster[] = [
  { key: 'otc-search-prod', provider: 'otc-css', faults: [], expect: 'succeeded', note: 'plain rotation' },
  {
    key: 'otc-logs-busy',
    provider: 'otc-css',
    faults: [{ type: 'busy', times: 3 }],
    expect: 'succeeded',
    note: '409 busy three times, then accepted',
  },
  {
    key: 'hw-search-eu',
    provider: 'huaweicloud-css',
    faults: [],
    expect: 'succeeded',
    note: 'plain rotation',
  },
  {
    key: 'hw-frozen',
    provider: 'huaweicloud-css',
    faults: [{ type: 'http', status: 412 }],
    expect: 'alerted',
    note: '412 precondition failed: stops at once and alerts',
  },
  {
    key: 'hw-throttled',
    provider: 'huaweicloud-css',
    faults: [{ type: 'throttle', retryAfter: '1' }],
    expect: 'succeeded',
    note: '429 with Retry-After: 1, then accepted',
  },
  { key: 'ncp-kafka-kr', provider: 'ncp-cdss', faults: [], expect: 'succeeded', note: 'plain rotation' },
  {
    key: 'ncp-kafka-flaky',
    provider: 'ncp-cdss',
    faults: [{ type: 'drop-after-apply' }],
    expect: 'succeeded',
    note: 'reset applied but the connection dropped: retried with the same password',
  },
];

export interface DemoOptions {
  once: boolean;
  out: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** Resolves when the demo should stop (default: SIGINT/SIGTERM). */
  stopSignal?: Promise<void>;
}

export interface DemoRow {
  target: string;
  provider: string;
  outcome: string;
  expected: string;
  attempts: string;
  detail: string;
  ok: boolean;
}

function clusterSpec(c: DemoCluster, i: number) {
  const base = {
    provider: c.provider,
    key: c.key,
    accessKey: `DEMOAK${String(i).padStart(14, '0')}`,
    secretKey: `demo-secret-key-${i}-${Math.random().toString(36).slice(2)}`,
    password: `Initial-Pass-${i}-x9Q!`,
    busyMs: 1_000,
  };
  return c.provider === 'ncp-cdss'
    ? { ...base, serviceGroupInstanceNo: String(1_484_000 + i) }
    : { ...base, projectId: 'demo0000000000000000000000000001', clusterId: c.key };
}

/** The demo's config: short timings so the first round finishes in seconds. */
export function demoConfig(
  redisUrl: string,
  prefix: string,
  dir: string,
  sandbox: Sandbox,
  clusters: SandboxCluster[],
): { config: RotatorConfig; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  const targets: TargetConfig[] = clusters.map((cluster, i) => {
    const { config } = sandboxTarget(sandbox.url, cluster);
    env[`DEMO_AK_${i}`] = cluster.spec.accessKey;
    env[`DEMO_SK_${i}`] = cluster.spec.secretKey;
    return {
      ...config,
      id: cluster.key,
      secret: { id: `demo/${cluster.key}`, username: cluster.username },
      credentials: { accessKey: { env: `DEMO_AK_${i}` }, secretKey: { env: `DEMO_SK_${i}` } },
    };
  });
  const result = validateConfig({
    redis: { prefix },
    store: { type: 'file', path: join(dir, 'secrets.json') },
    audit: { path: join(dir, 'audit.jsonl') },
    defaults: {
      schedule: { every: '2m' },
      retry: { attempts: 6, initialDelay: '200ms', maxDelay: '1500ms' },
      timing: {
        readyTimeout: '20s',
        settleTimeout: '20s',
        pollInterval: '250ms',
        requestTimeout: '3s',
        busyBudget: '30s',
        maxPasswordRejections: 3,
      },
    },
    providers: { 'otc-css': { rateLimit: { max: 10, per: '1s' } } },
    worker: { concurrency: 8, shutdownTimeout: '5s' },
    watchdog: { every: '1m', grace: '1m' },
    log: { level: 'error' },
    targets,
  });
  if (!result.ok)
    throw new Error(`demo config: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  // Like REDIS_URL for the worker: the URL may carry a password, which the config file may not.
  const redis = applyRedisUrl(result.config.redis, redisUrl);
  if (!redis.ok) throw new Error(`REDIS_URL: ${redis.message}`);
  return { config: { ...result.config, redis: redis.redis }, env };
}

async function redisForDemo(
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
): Promise<{ url: string; server?: PrivateRedis }> {
  if (env.REDIS_URL) {
    // The worker would wait for an unreachable Redis forever; the demo says so at once instead.
    const probe = createClientConnection(env.REDIS_URL, { name: 'rotator-demo' });
    try {
      await connectClient(probe);
    } catch (err) {
      throw new Error(
        processSecrets.scrub(
          `cannot reach Redis at ${describeRedis(env.REDIS_URL)} (REDIS_URL): ${(err as Error).message}`,
        ),
      );
    } finally {
      probe.disconnect();
    }
    return { url: env.REDIS_URL };
  }
  try {
    const server = await startPrivateRedis();
    return { url: server.url, server };
  } catch (err) {
    if (err instanceof RedisServerMissingError) {
      out.write(
        `The demo needs Redis. Either start one and set REDIS_URL (e.g. docker run -p 6379:6379 redis:7,\n` +
          `then REDIS_URL=redis://127.0.0.1:6379 npm run demo), or install redis-server so the demo can\n` +
          `start a private one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).\n`,
      );
    }
    throw err;
  }
}

/** Runs the demo; resolves with the exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { out } = options;
  const env = options.env ?? process.env;
  const dir = await mkdtemp(join(tmpdir(), 'rotator-demo-'));
  let redisServer: PrivateRedis | undefined;
  let sandbox: Sandbox | undefined;
  let redis: RedisConnection | undefined;
  let runtime: WorkerRuntime | undefined;
  let prefix: string | undefined;
  try {
    const r = await redisForDemo(env, out);
    redisServer = r.server;
    sandbox = await startSandbox({ busyMs: 1_000 });
    const clusters = DEMO_CLUSTERS.map((c, i) => {
      const cluster = sandbox!.clusters.add(clusterSpec(c, i));
      if (c.faults.length) cluster.pushFault(...c.faults);
      return cluster;
    });
    prefix = `demo-${Date.now().toString(36)}`;
    const { config, env: credentials } = demoConfig(r.url, prefix, dir, sandbox, clusters);
    out.write(
      `secret-rotator demo\n  sandbox  ${sandbox.url} (${clusters.length} clusters on 3 simulated clouds)\n`,
    );
    out.write(
      `  redis    ${describeRedis(r.url)}${r.server ? ' (private redis-server)' : ''}, prefix ${prefix}\n`,
    );
    out.write(`  store    ${config.store.type === 'file' ? config.store.path : ''} (encrypted file store)\n`);
    out.write(`  audit    ${config.audit.path}\n\n`);

    const alerts: Alert[] = [];
    const registry = new SecretRegistry();
    redis = createRedisConnection(r.url, { name: 'rotator-demo', registry });
    const components = await buildComponents({
      config,
      redis,
      env: credentials,
      registry,
      // the demo prints its own table and alerts; the JSON log would only interleave with them
      logger: createLogger({ level: 'fatal', registry, base: { component: 'demo' } }),
      extraSinks: [
        {
          name: 'demo',
          async send(alert) {
            alerts.push(alert);
            out.write(`  ALERT [${alert.severity}] ${alert.summary}\n`);
          },
        },
      ],
    });
    runtime = await startWorkerRuntime({ config, components, connection: redis });
    out.write('Rotating every target once...\n');
    const enqueued = await runtime.control.rotate({ targets: 'all', trigger: 'demo', actor: 'demo' });
    const outcomes = await waitForRotations(runtime.queues.rotations, enqueued, {
      timeoutMs: 90_000,
      pollMs: 200,
    });
    await components.flushAlerts(5_000);
    const rows = demoRows(outcomes, clusters, alerts, await currentPasswords(components.store, config));
    out.write(
      `\n${formatTable(
        ['TARGET', 'PROVIDER', 'OUTCOME', 'EXPECTED', 'ATTEMPTS', 'DETAIL'],
        rows.map((row) => [row.target, row.provider, row.outcome, row.expected, row.attempts, row.detail]),
      )}`,
    );
    const allOk = rows.every((row) => row.ok);
    out.write(
      allOk
        ? '\nEvery outcome is the expected one; each rotated cluster accepts the password now current in the store.\n'
        : '\nSome outcome differs from the expected one (see the table).\n',
    );
    if (options.once) return allOk ? 0 : 1;
    out.write(
      `\nThe worker keeps running: every target rotates again every 2 minutes and the watchdog checks\n` +
        `every minute (alerts are printed here). Ctrl-C to stop.\n`,
    );
    await (options.stopSignal ??
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }));
    out.write('\nStopping...\n');
    return allOk ? 0 : 1;
  } finally {
    await runtime?.close(5_000).catch(() => undefined);
    if (redis && prefix && !redisServer) {
      // a Redis we did not start: leave nothing of the demo behind
      const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
    }
    await redis?.quit().catch(() => redis?.disconnect());
    await sandbox?.close().catch(() => undefined);
    await redisServer?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function currentPasswords(
  store: { getCurrent(id: string): Promise<{ text: string } | undefined> },
  config: RotatorConfig,
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (const t of config.targets) {
    const current = await store.getCurrent(t.secret.id);
    out.set(t.id, current && readSecret(current.text, secretFormatOf(t)).password);
  }
  return out;
}

function demoRows(
  outcomes: RotationOutcome[],
  clusters: SandboxCluster[],
  alerts: Alert[],
  current: Map<string, string | undefined>,
): DemoRow[] {
  return outcomes.map((o) => {
    const spec = DEMO_CLUSTERS.find((c) => c.key === o.targetId)!;
    const cluster = clusters.find((c) => c.key === o.targetId)!;
    const alerted = alerts.filter((a) => a.targetId === o.targetId).map((a) => a.reason);
    const outcome = o.outcome === 'failed' && alerted.length ? 'alerted' : o.outcome;
    const agrees = current.get(o.targetId) === cluster.password;
    const ok = outcome === spec.expect && (outcome !== 'succeeded' || agrees);
    const detail =
      outcome === 'succeeded'
        ? `${spec.note}${agrees ? '' : ' (STORE AND CLUSTER DISAGREE)'}`
        : `${spec.note}${alerted.length ? ` [alert: ${[...new Set(alerted)].join(', ')}]` : ''}`;
    return {
      target: o.targetId,
      provider: cluster.provider,
      outcome,
      expected: spec.expect,
      attempts: String(o.attempts ?? ''),
      detail,
      ok,
    };
  });
}
