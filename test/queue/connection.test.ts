import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/problems.js';
import { type RedisConfig, redisSchema } from '../../src/config/redis-schema.js';
import { processSecrets, SecretRegistry } from '../../src/log/index.js';
import {
  checkEvictionPolicy,
  createRedisConnection,
  describeRedis,
  redisConnectionPlan,
} from '../../src/queue/connection.js';
import { freePort } from '../../src/util/redis-server.js';
import { type ServerGroup, serverGroup } from '../support/redis-servers.js';
import { type Harness, startHarness } from '../worker/harness.js';

const block = (input: object): RedisConfig => redisSchema.parse(input);
const PW = 'plan-test-password-1';
const env = { RP: PW, SP: 'plan-sentinel-password-2' };
const files: Record<string, string> = { '/ca.pem': 'CA PEM', '/c.pem': 'CERT PEM', '/c.key': 'KEY PEM' };
const readFile = (path: string) => {
  if (!(path in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return Buffer.from(files[path]!);
};

describe('redisConnectionPlan: one set of options for the CLI, the worker and the HTTP server', () => {
  it('standalone: host, port, db, user, password from its reference, TLS files read', () => {
    const registry = new SecretRegistry();
    const plan = redisConnectionPlan(
      block({
        url: 'redis://redis.internal:6380/2',
        username: 'rotator',
        password: { env: 'RP' },
        tls: { ca: '/ca.pem', cert: '/c.pem', key: '/c.key', servername: 'redis.internal' },
      }),
      { env, registry, readFile },
    );
    expect(plan.kind).toBe('redis');
    expect(plan.options).toMatchObject({
      host: 'redis.internal',
      port: 6380,
      db: 2,
      username: 'rotator',
      password: PW,
      tls: {
        ca: Buffer.from('CA PEM'),
        cert: Buffer.from('CERT PEM'),
        key: Buffer.from('KEY PEM'),
        servername: 'redis.internal',
      },
      maxRetriesPerRequest: null,
      connectionName: 'rotator-worker',
    });
    // registered for scrubbing: in the given registry and the process-wide one (main's error output)
    expect(registry.scrub(`x ${PW} y`)).toBe('x [REDACTED] y');
    expect(processSecrets.has(PW)).toBe(true);
  });

  it('rediss:// alone turns TLS on with the default trust store; the client role fails fast', () => {
    const plan = redisConnectionPlan('rediss://:url-pw-123@cache:6390', { role: 'client' });
    if (plan.kind !== 'redis') throw new Error('expected a single-server plan');
    expect(plan.options).toMatchObject({
      host: 'cache',
      port: 6390,
      password: 'url-pw-123',
      tls: {},
      lazyConnect: true,
    });
    expect(plan.options.maxRetriesPerRequest).toBe(2);
    const retry = plan.options.retryStrategy!;
    expect([1, 2, 3, 4].map((n) => retry(n))).toEqual([200, 400, 600, null]);
    expect(redisConnectionPlan('redis://cache').options).not.toHaveProperty('tls');
  });

  it('sentinel: the sentinels, the master name, both passwords; TLS to the sentinels too', () => {
    const plan = redisConnectionPlan(
      block({
        sentinel: { name: 'mymaster', nodes: ['10.0.0.5:26379', '[fd00::6]:26380'], password: { env: 'SP' } },
        password: { env: 'RP' },
        tls: { ca: '/ca.pem' },
      }),
      { env, readFile },
    );
    expect(plan.kind).toBe('redis');
    expect(plan.options).toMatchObject({
      name: 'mymaster',
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'fd00::6', port: 26380 },
      ],
      password: PW,
      sentinelPassword: env.SP,
      enableTLSForSentinelMode: true,
      tls: { ca: Buffer.from('CA PEM') },
      sentinelTLS: { ca: Buffer.from('CA PEM') },
    });
    expect(plan.options).not.toHaveProperty('host');
  });

  it('cluster: the seed nodes; password, TLS and BullMQ settings for every node', () => {
    const plan = redisConnectionPlan(
      block({ cluster: { nodes: ['10.0.0.7:7000', '10.0.0.8:7000'] }, password: { env: 'RP' }, tls: {} }),
      { env, readFile },
    );
    if (plan.kind !== 'cluster') throw new Error('expected a cluster plan');
    expect(plan.nodes).toEqual([
      { host: '10.0.0.7', port: 7000 },
      { host: '10.0.0.8', port: 7000 },
    ]);
    expect(plan.options.redisOptions).toMatchObject({ password: PW, tls: {}, maxRetriesPerRequest: null });
    const client = redisConnectionPlan(block({ cluster: { nodes: ['h:7000'] } }), { role: 'client' });
    if (client.kind !== 'cluster') throw new Error('expected a cluster plan');
    expect(client.options).toMatchObject({ lazyConnect: true, redisOptions: { maxRetriesPerRequest: 2 } });
  });

  it('an unresolvable reference or an unreadable TLS file is a config error naming the field', () => {
    const problem = (config: object) => {
      try {
        redisConnectionPlan(block(config), { env: {}, readFile });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      throw new Error('expected an error');
    };
    expect(problem({ password: { env: 'NOPE' } })).toEqual([
      { path: 'redis.password', message: 'environment variable NOPE is not set' },
    ]);
    expect(problem({ sentinel: { name: 'm', nodes: ['h:1'], password: { env: 'NOPE' } } })).toEqual([
      { path: 'redis.sentinel.password', message: 'environment variable NOPE is not set' },
    ]);
    expect(problem({ tls: { ca: '/missing.pem' } })).toEqual([
      { path: 'redis.tls.ca', message: 'cannot read file /missing.pem (ENOENT)' },
    ]);
  });
});

describe('describeRedis: names Redis for messages, never a user or password', () => {
  it.each([
    [{ url: 'rediss://alice@cache:6390/1' }, 'rediss://cache:6390/1'],
    [{ url: 'redis://cache:6379', tls: {}, password: { env: 'X' } }, 'redis://cache:6379 (TLS)'],
    [
      { sentinel: { name: 'm', nodes: ['a:1', 'b:2'], username: 'alice' } },
      "sentinel master 'm' via a:1, b:2",
    ],
    [{ cluster: { nodes: ['a:7000'] }, username: 'alice' }, 'cluster a:7000'],
  ])('%j', (config, described) => {
    expect(describeRedis(block(config))).toBe(described);
  });

  it('a bare URL (REDIS_URL, tests)', () => {
    expect(describeRedis('redis://:pw-xyz@127.0.0.1:1')).toBe('redis://127.0.0.1:1');
    expect(describeRedis('rediss://alice:pw-xyz@cache:6390/1')).toBe('rediss://cache:6390/1');
  });
});

describe('maxmemory-policy: BullMQ needs noeviction', () => {
  let group: ServerGroup;
  let lruUrl: string;
  let noConfigUrl: string;
  let h: Harness | undefined;
  beforeAll(async () => {
    group = await serverGroup('eviction');
    const lru = await freePort();
    const noConfig = await freePort();
    const base = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
    await group.start([...base(lru), '--maxmemory-policy', 'allkeys-lru']);
    // as on managed services that refuse CONFIG and INFO
    await group.start([...base(noConfig), '--rename-command', 'CONFIG', '', '--rename-command', 'INFO', '']);
    lruUrl = `redis://127.0.0.1:${lru}`;
    noConfigUrl = `redis://127.0.0.1:${noConfig}`;
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await group?.stop();
  });

  const capture = () => {
    const warnings: string[] = [];
    const debugs: string[] = [];
    return {
      warnings,
      debugs,
      logger: {
        warn: (_o: object, msg: string) => void warnings.push(msg),
        debug: (_o: object, msg: string) => void debugs.push(msg),
      },
    };
  };

  it('warns when the policy evicts, says nothing when it is noeviction, notes a refused CONFIG quietly', async () => {
    for (const [url, policy, warned, noted] of [
      [lruUrl, 'allkeys-lru', 1, 0],
      [noConfigUrl, undefined, 0, 1],
    ] as const) {
      const c = capture();
      const redis = createRedisConnection(url);
      // the ready check's INFO is refused too on the second server: expected here
      redis.on('error', () => undefined);
      try {
        const found = await checkEvictionPolicy(redis, c.logger);
        expect(found.get('redis')).toBe(policy);
        expect(c.warnings).toHaveLength(warned);
        expect(c.debugs).toHaveLength(noted);
        if (warned)
          expect(c.warnings[0]).toContain('maxmemory-policy is allkeys-lru: BullMQ needs noeviction');
      } finally {
        await redis.quit();
      }
    }
  });

  it('the worker checks it at start', async () => {
    h = await startHarness({ clusters: [{ key: 'evict' }], redisUrl: lruUrl });
    const warning = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.maxmemoryPolicy);
    expect(warning).toMatchObject({ level: 40, maxmemoryPolicy: 'allkeys-lru', server: 'redis' });
  });
});
