import type { RedisConnection } from '../util/redis-connection.js';
import { buildAlertSinks, createAlerter } from '../alerts/index.js';
import { openFileAuditTrail } from '../audit/file-trail.js';
import { resolveAuditKey } from '../audit/key.js';
import { formatPath } from '../config/problems.js';
import { resolveRef } from '../config/refs.js';
import {
  insecureHttpWarnings,
  type RotatorConfig,
  storeRateLimit,
  type TargetConfig,
} from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { cryptoRandom } from '../core/random.js';
import { createLogger, type Logger, SecretRegistry, TargetSecrets } from '../log/index.js';
import { metricsAuditSink } from '../metrics/audit-sink.js';
import { createRotatorMetrics, queueCountsOf, type RotatorMetrics } from '../metrics/registry.js';
import { generatePassword, targetPolicy } from '../policy/index.js';
import { limitsFromConfig, withRateLimit } from '../providers/rate-limited.js';
import { createProvider } from '../providers/registry.js';
import type { Provider, ProviderTarget, ResolvedCredentials } from '../providers/types.js';
import { createRateLimiter } from '../queue/rate-limit.js';
import { type RateLimiter, rateLimitKey } from '../util/rate-limit.js';
import { rotate } from '../rotation/rotate.js';
import type { LoginCheck } from '../rotation/types.js';
import { createStore, type CreateStoreOptions, storeAccountIdentity } from '../secrets/index.js';
import { deadline } from '../util/deadline.js';
import { createKeepAliveClient, type HttpClient, type HttpResponseLike } from '../util/http-client.js';
import type { AlertSink } from '../alerts/types.js';
import type { RotationControl } from '../queue/control.js';
import type { Queue } from 'bullmq';
import type { PreparedTarget } from '../../jobs/rotate-target.js';
import type { WorkerComponents } from './runtime.js';

export interface BuildComponentsOptions {
  config: RotatorConfig;
  /** Used by the rate limiter and alert folding (shared by every worker). */
  redis: RedisConnection;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  registry?: SecretRegistry;
  clock?: Clock;
  /** HTTP client of the providers and the login check (default: a keep-alive client, closed by close()). */
  http?: HttpClient;
  /** fetch of the alert sinks (default: the global fetch). */
  fetch?: typeof globalThis.fetch;
  /** Extra alert sinks (the demo prints alerts; tests capture them). */
  extraSinks?: AlertSink[];
  storeOptions?: CreateStoreOptions;
  /** Repeats of one alert within this window are folded (default: config worker.alertFoldWindow). */
  alertFoldWindowMs?: number;
}

export interface BuiltComponents extends WorkerComponents {
  logger: Logger;
  registry: SecretRegistry;
  metrics: RotatorMetrics;
  /** Lets the metrics read statuses and queue counts at scrape time. */
  attach(control: RotationControl, queues: readonly Queue[]): void;
  flushAlerts(timeoutMs?: number): Promise<boolean>;
}

/**
 * The secret /readyz asks the store about: the first enabled target's (else the first target's).
 * Describing one configured secret needs only the permissions rotation has anyway.
 */
export function readyProbeSecretId(config: Pick<RotatorConfig, 'targets'>): string {
  return (config.targets.find((t) => t.enabled) ?? config.targets[0]!).secret.id;
}

/** The effective timing and retry of a target: its own values over the config's defaults. */
export function targetSettings(target: TargetConfig, config: RotatorConfig) {
  return {
    timing: { ...config.defaults.timing, ...target.timing },
    retry: { ...config.defaults.retry, ...target.retry },
  };
}

/** Resolves a target's credential references; the error names the field and the reference, never a value. */
export function resolveCredentials(
  target: TargetConfig,
  env: NodeJS.ProcessEnv,
  registry: SecretRegistry,
): ResolvedCredentials {
  const out: ResolvedCredentials = {};
  for (const field of ['accessKey', 'secretKey', 'token'] as const) {
    const ref = target.credentials[field];
    if (!ref) continue;
    try {
      const value = resolveRef(ref, env, registry);
      // the access key is an identifier, but it is treated as a secret anyway: cheap and safe
      out[field] = registry.add(value);
    } catch (err) {
      throw new Error(`targets.${target.id}.credentials.${field}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The test step: HTTP basic auth against the data-plane URL; 200 accepted, 401/403 refused. */
export function basicAuthLoginCheck(
  url: string,
  username: string,
  http: HttpClient,
  timeoutMs: number,
): LoginCheck {
  return async (password, signal) => {
    const limit = deadline(timeoutMs, signal);
    let res: HttpResponseLike;
    try {
      res = await http(url, {
        method: 'GET',
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
        signal: limit.signal,
        redirect: 'manual',
      });
      // the body is not needed; reading it lets the connection be reused
      await res.text();
    } finally {
      limit.dispose();
    }
    if (res.status >= 200 && res.status < 300) return true;
    if (res.status === 401 || res.status === 403) return false;
    throw new Error(`data-plane login answered HTTP ${res.status}`);
  };
}

/**
 * The store's writes take slots from the shared limiter under one key per store account (all
 * workers on this Redis share it); no gate when the store has no limit.
 */
export function storeWriteGate(
  config: Pick<RotatorConfig, 'store'>,
  limiter: RateLimiter,
  options: CreateStoreOptions = {},
): CreateStoreOptions['writeGate'] {
  const limit = storeRateLimit(config.store);
  if (!limit) return undefined;
  const key = rateLimitKey(`store:${config.store.type}`, storeAccountIdentity(config.store, options));
  // Spread: AWS counts the quota per second where the calls arrive (see RateLimit.spread).
  const spread = { ...limit, spread: true };
  return async (_operation, signal) => {
    await limiter.acquire(key, spread, signal);
  };
}

/**
 * Builds everything a worker needs from the config, once: providers (rate-limited), resolved
 * credentials, effective policies and timings per target, the store, the audit trail, the alerter
 * and the logger that scrubs every registered secret.
 */
export async function buildComponents(opts: BuildComponentsOptions): Promise<BuiltComponents> {
  const { config, redis } = opts;
  const env = opts.env ?? process.env;
  const registry = opts.registry ?? new SecretRegistry();
  // Before anything is opened: a bad key stops the start with nothing to clean up.
  const auditKey = resolveAuditKey(config.audit.key, { env, registry });
  const logger =
    opts.logger ??
    createLogger({
      level: config.log.level,
      pretty: config.log.pretty,
      registry,
      base: { component: 'worker' },
    });
  const clock = opts.clock ?? systemClock;
  // What each target's last two runs registered stays registered for scrubbing; older values go.
  const targetSecrets = new TargetSecrets(registry);
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const ownHttp = opts.http ? undefined : createKeepAliveClient();
  const http: HttpClient = opts.http ?? ownHttp!;

  const limiter = createRateLimiter(redis, { prefix: config.redis.prefix, clock });
  const limitsFor = limitsFromConfig(config);
  const providers = new Map<string, Provider>();
  const targets = new Map<string, PreparedTarget>();
  for (const t of config.targets) {
    if (!t.enabled) continue;
    const { timing, retry } = targetSettings(t, config);
    const key = `${t.provider} ${timing.requestTimeout}`;
    let provider = providers.get(key);
    if (!provider) {
      provider = withRateLimit(
        createProvider(t.provider, { fetch: http, clock, timeoutMs: timing.requestTimeout }),
        limiter,
        limitsFor,
      );
      providers.set(key, provider);
    }
    const providerTarget: ProviderTarget = { config: t, credentials: resolveCredentials(t, env, registry) };
    const prepared: PreparedTarget = {
      config: t,
      providerTarget,
      provider,
      policy: targetPolicy(t.provider, t.policy, t.id),
      timing,
      retry,
    };
    if (t.dataPlane) {
      prepared.loginCheck = basicAuthLoginCheck(
        t.dataPlane.url,
        t.dataPlane.username ?? t.secret.username ?? provider.defaultUsername,
        http,
        timing.requestTimeout,
      );
    }
    targets.set(t.id, prepared);
  }

  for (const warning of insecureHttpWarnings(config)) {
    logger.warn({ field: formatPath(warning.path) }, warning.message);
  }

  let attached: { control: RotationControl; queues: readonly Queue[] } | undefined;
  const metrics = createRotatorMetrics({
    statuses: async () => (attached ? attached.control.statuses() : []),
    queueCounts: async () =>
      attached
        ? queueCountsOf(attached.queues)()
        : { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 },
    onCollectError: (metric, err) =>
      logger.warn({ metric, err: (err as Error).message }, 'metric collection failed'),
  });
  const storeOptions: CreateStoreOptions = { env, ...opts.storeOptions };
  const store = createStore(config.store, {
    writeGate: storeWriteGate(config, limiter, storeOptions),
    onThrottle: (operation) => {
      metrics.storeThrottled(operation);
      logger.debug({ operation }, 'secret store throttled a call; retrying it');
    },
    ...storeOptions,
  });
  const trail = await openFileAuditTrail({
    path: config.audit.path,
    key: auditKey,
    scrub: (s: string) => registry.scrub(s),
  });
  const audit = metricsAuditSink(metrics, trail);
  const sinks = [
    ...buildAlertSinks(config.alerts, { logger, env, fetch: fetchImpl, onSecret: (v) => registry.add(v) }),
    ...(opts.extraSinks ?? []),
  ];
  const alerter = createAlerter({
    sinks,
    redis,
    prefix: config.redis.prefix,
    foldWindowMs: opts.alertFoldWindowMs ?? config.worker.alertFoldWindow,
    logger,
    clock,
    scrub: (s: string) => registry.scrub(s),
  });

  return {
    targets,
    store,
    clock,
    rotate,
    random: () => cryptoRandom.float(),
    generatePassword: (policy) => generatePassword(policy),
    scrub: (text) => registry.scrub(text),
    registerSecrets: (targetId) => targetSecrets.startRun(targetId),
    audit,
    alert: (a) => alerter.alert(a),
    logger,
    registry,
    metrics,
    attach(control, queues) {
      attached = { control, queues };
    },
    flushAlerts: (timeoutMs) => alerter.flush(timeoutMs),
    async close() {
      await alerter.flush(5_000);
      await audit.close();
      await store.close();
      ownHttp?.close();
    },
  };
}
