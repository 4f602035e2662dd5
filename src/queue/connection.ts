import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../config/problems.js';
import {
  type HostPort,
  parseHostPort,
  parseRedisUrl,
  redactRedisUrl,
  type RedisConfig,
} from '../config/redis-schema.js';
import { resolveRef, SecretRefError } from '../config/refs.js';
import { processSecrets, type SecretRegistry } from '../log/secret-registry.js';
import type { RedisConnection } from '../util/redis-connection.js';

/**
 * - `worker`: commands wait through a reconnect instead of failing (maxRetriesPerRequest: null, as
 *   BullMQ requires), so a Redis restart pauses the worker rather than failing jobs;
 * - `client`: short-lived commands (CLI): connects on `connect()`, fails fast instead of waiting forever.
 */
export type RedisRole = 'worker' | 'client';

export interface RedisConnectionOptions {
  role?: RedisRole;
  /** CLIENT SETNAME of the connection (shows in CLIENT LIST). */
  name?: string;
  /** Where `{ env }` references are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Resolved passwords are registered here, so loggers scrub them (default: the process-wide one). */
  registry?: SecretRegistry;
  /** Reads the TLS files (default: readFileSync). */
  readFile?: (path: string) => Buffer;
}

/** What ioredis is given: one server (standalone or Sentinel) or a cluster's seed nodes. */
export type RedisConnectionPlan =
  { kind: 'redis'; options: RedisOptions } | { kind: 'cluster'; nodes: HostPort[]; options: ClusterOptions };

const CLIENT_TRIES = 3;
const workerRetry = (times: number) => Math.min(times * 200, 2_000);
const clientRetry = (times: number) => (times > CLIENT_TRIES ? null : times * 200);

/** A redis block from a bare URL (tests, the demo, REDIS_URL-only setups). */
function asConfig(redis: RedisConfig | string): RedisConfig {
  return typeof redis === 'string' ? { url: redis, prefix: 'rotator' } : redis;
}

/** A problem with the redis block found while connecting (a reference or TLS file): exit 2 like check-config. */
function configProblem(path: string, message: string): ConfigError {
  return new ConfigError('redis', [{ path, message }]);
}

function resolvePassword(
  path: string,
  ref: RedisConfig['password'],
  env: NodeJS.ProcessEnv,
  registry: SecretRegistry,
): string | undefined {
  if (!ref) return undefined;
  try {
    const value = resolveRef(ref, env, registry);
    if (registry !== processSecrets) processSecrets.add(value);
    return value;
  } catch (err) {
    if (err instanceof SecretRefError) throw configProblem(path, err.message);
    throw err;
  }
}

function tlsOptions(
  redis: RedisConfig,
  urlTls: boolean,
  readFile: (path: string) => Buffer,
): ConnectionOptions | undefined {
  if (!redis.tls && !urlTls) return undefined;
  const t = redis.tls ?? {};
  const read = (field: 'ca' | 'cert' | 'key') => {
    const path = t[field];
    if (path === undefined) return {};
    try {
      return { [field]: readFile(path) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw configProblem(`redis.tls.${field}`, `cannot read file ${path} (${code})`);
    }
  };
  return {
    ...read('ca'),
    ...read('cert'),
    ...read('key'),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
  };
}

/** The redis block's TLS files that cannot be read (check-config --resolve), as config problems. */
export function redisTlsProblems(
  redis: RedisConfig,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (const field of ['ca', 'cert', 'key'] as const) {
    const path = redis.tls?.[field];
    if (path === undefined) continue;
    try {
      readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      problems.push({ path: `redis.tls.${field}`, message: `cannot read file ${path} (${code})` });
    }
  }
  return problems;
}

const nodesOf = (list: readonly string[]): HostPort[] => list.map((n) => parseHostPort(n)!);

/**
 * The ioredis options for the redis block: the one place where the CLI, the worker and the HTTP
 * server get their connection settings. Reads the password references and the TLS files.
 */
export function redisConnectionPlan(
  config: RedisConfig | string,
  options: RedisConnectionOptions = {},
): RedisConnectionPlan {
  const redis = asConfig(config);
  const role = options.role ?? 'worker';
  const env = options.env ?? process.env;
  const registry = options.registry ?? processSecrets;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path));
  const name = options.name ?? (role === 'worker' ? 'rotator-worker' : 'rotator-cli');

  const url = redis.url !== undefined ? parseRedisUrl(redis.url) : undefined;
  if (url && !url.ok)
    throw configProblem(typeof config === 'string' ? 'REDIS_URL' : 'redis.url', url.message);
  const fromUrl = url?.value;
  const username = fromUrl?.username ?? redis.username;
  let password = fromUrl?.password;
  if (password !== undefined) {
    registry.add(password);
    processSecrets.add(password);
  } else password = resolvePassword('redis.password', redis.password, env, registry);
  const tls = tlsOptions(redis, fromUrl?.tls ?? false, readFile);

  const auth: RedisOptions = {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
  };
  const perRequest: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 2, connectTimeout: 5_000 };

  if (redis.cluster) {
    return {
      kind: 'cluster',
      nodes: nodesOf(redis.cluster.nodes),
      options: {
        enableReadyCheck: true,
        clusterRetryStrategy: role === 'worker' ? workerRetry : clientRetry,
        ...(role === 'client' ? { lazyConnect: true } : {}),
        redisOptions: { ...auth, ...perRequest, connectionName: name },
      },
    };
  }

  const base: RedisOptions = {
    ...auth,
    ...perRequest,
    connectionName: name,
    retryStrategy: role === 'worker' ? workerRetry : clientRetry,
    ...(role === 'client' ? { lazyConnect: true } : {}),
  };
  if (redis.sentinel) {
    const s = redis.sentinel;
    const sentinelPassword = resolvePassword('redis.sentinel.password', s.password, env, registry);
    return {
      kind: 'redis',
      options: {
        ...base,
        name: s.name,
        sentinels: nodesOf(s.nodes),
        ...(s.username !== undefined ? { sentinelUsername: s.username } : {}),
        ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
        // With TLS, the sentinels and the master are all reached over TLS, with the same settings.
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        sentinelRetryStrategy: role === 'worker' ? workerRetry : clientRetry,
      },
    };
  }
  return {
    kind: 'redis',
    options: { ...base, host: fromUrl!.host, port: fromUrl!.port, db: fromUrl!.db },
  };
}

/** Opens a connection for the redis block (or a bare URL). See RedisRole for `role`. */
export function createRedisConnection(
  config: RedisConfig | string,
  options: RedisConnectionOptions = {},
): RedisConnection {
  const plan = redisConnectionPlan(config, options);
  return plan.kind === 'cluster' ? new Cluster(plan.nodes, plan.options) : new Redis(plan.options);
}

/** A connection for short-lived clients (CLI): `connect()` fails fast instead of waiting forever. */
export function createClientConnection(
  config: RedisConfig | string,
  options: Omit<RedisConnectionOptions, 'role'> = {},
): RedisConnection {
  const connection = createRedisConnection(config, { ...options, role: 'client' });
  // The failure reaches the caller through connect() and the commands; without a listener,
  // ioredis would also print every reconnect error to stderr.
  connection.on('error', () => undefined);
  return connection;
}

/**
 * Connects a client connection. When it fails, the error is the most telling one seen (the server's
 * WRONGPASS, a TLS verification error), not only ioredis's closing "Connection is closed.".
 */
export async function connectClient(connection: RedisConnection): Promise<void> {
  let last: Error | undefined;
  const remember = (err: Error) => {
    last = err;
  };
  connection.on('error', remember);
  try {
    await connection.connect();
  } catch (err) {
    throw last ?? err;
  } finally {
    connection.off('error', remember);
  }
}

/**
 * Where the redis block points, for messages and logs: never a user or password
 * (`redis://10.0.0.5:6379`, `sentinel master 'mymaster' via 10.0.0.5:26379`, `cluster 10.0.0.7:7000`).
 */
export function describeRedis(config: RedisConfig | string): string {
  const redis = asConfig(config);
  const tls = redis.tls ? ' (TLS)' : '';
  if (redis.cluster) return `cluster ${redis.cluster.nodes.join(', ')}${tls}`;
  if (redis.sentinel)
    return `sentinel master '${redis.sentinel.name}' via ${redis.sentinel.nodes.join(', ')}${tls}`;
  const url = redactRedisUrl(redis.url ?? '');
  return url.startsWith('rediss://') ? url : `${url}${tls}`;
}

/** What `CONFIG GET maxmemory-policy` answered, in either reply shape (flat list or map). */
function policyFrom(reply: unknown): string | undefined {
  if (Array.isArray(reply)) return typeof reply[1] === 'string' ? reply[1] : undefined;
  if (reply && typeof reply === 'object') {
    const v = (reply as Record<string, unknown>)['maxmemory-policy'];
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/** INFO memory first (managed services that refuse CONFIG usually allow it), then CONFIG GET. */
async function readEvictionPolicy(client: Redis): Promise<string | undefined> {
  try {
    const policy = /^maxmemory_policy:(\S+)/m.exec(await client.info('memory'))?.[1];
    if (policy !== undefined) return policy;
  } catch {
    // refused: ask CONFIG instead
  }
  return policyFrom(await client.config('GET', 'maxmemory-policy'));
}

export interface EvictionPolicyLogger {
  warn(obj: object, msg: string): void;
  /** Optional: where a refused CONFIG is noted (pino's debug level). */
  debug?(obj: object, msg: string): void;
}

/**
 * BullMQ needs `maxmemory-policy noeviction`: under memory pressure any other policy deletes queue
 * keys (jobs, locks, schedulers) silently. Warns for every server (each master of a cluster) whose
 * policy is another one. A server that answers neither INFO nor CONFIG (some managed services
 * restrict both) is noted at debug level only. BullMQ prints its own console warning too; this one
 * goes to the structured log, where it can be alerted on.
 * Returns the policies found, by server.
 */
export async function checkEvictionPolicy(
  connection: RedisConnection,
  logger: EvictionPolicyLogger,
): Promise<Map<string, string>> {
  const servers: { label: string; client: Redis }[] =
    connection instanceof Cluster
      ? connection.nodes('master').map((n) => ({ label: `${n.options.host}:${n.options.port}`, client: n }))
      : [{ label: 'redis', client: connection }];
  const found = new Map<string, string>();
  for (const { label, client } of servers) {
    let policy: string | undefined;
    try {
      policy = await readEvictionPolicy(client);
    } catch (err) {
      logger.debug?.(
        { server: label, err: (err as Error).message },
        'cannot read maxmemory-policy (INFO and CONFIG refused): make sure it is noeviction',
      );
      continue;
    }
    if (policy === undefined) continue;
    found.set(label, policy);
    if (policy !== 'noeviction') {
      logger.warn(
        { server: label, maxmemoryPolicy: policy },
        `redis maxmemory-policy is ${policy}: BullMQ needs noeviction, or Redis may delete queue keys under memory pressure (set maxmemory-policy noeviction)`,
      );
    }
  }
  return found;
}
