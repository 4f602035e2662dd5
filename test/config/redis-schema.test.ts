import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/problems.js';
import { loadConfig, parseConfigText } from '../../src/worker/config.js';
import { parseRedisUrl, redactRedisUrl } from '../../src/config/redis-schema.js';
import { MINIMAL_CONFIG as targets } from '../support/config-text.js';

function parseRedis(block: string) {
  return parseConfigText(`redis: ${block}\n${targets}`);
}

function redisOf(block: string) {
  const r = parseRedis(block);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.redis;
}

function problemsOf(block: string) {
  const r = parseRedis(block);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('the redis block', () => {
  it('the example of the issue validates: url, user, password by reference, tls, prefix', () => {
    const redis = redisOf(`
  url: rediss://redis.internal:6380
  username: rotator
  password: { env: REDIS_PASSWORD }
  tls: { ca: /etc/rotator/ca.pem, cert: /etc/rotator/c.pem, key: /etc/rotator/c.key, servername: redis.internal }
  prefix: rotator`);
    expect(redis).toEqual({
      url: 'rediss://redis.internal:6380',
      username: 'rotator',
      password: { env: 'REDIS_PASSWORD' },
      tls: {
        ca: '/etc/rotator/ca.pem',
        cert: '/etc/rotator/c.pem',
        key: '/etc/rotator/c.key',
        servername: 'redis.internal',
      },
      prefix: 'rotator',
    });
  });

  it('without url, sentinel or cluster: the local default', () => {
    expect(redisOf('{ prefix: p }')).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'p' });
  });

  it('sentinel: name, nodes and its own password; no url is filled in', () => {
    const redis = redisOf(
      `{ sentinel: { name: mymaster, nodes: ["10.0.0.5:26379", "[fd00::6]:26379"], password: { env: S } }, password: { file: /run/secrets/redis } }`,
    );
    expect(redis.url).toBeUndefined();
    expect(redis.sentinel).toEqual({
      name: 'mymaster',
      nodes: ['10.0.0.5:26379', '[fd00::6]:26379'],
      password: { env: 'S' },
    });
  });

  it('cluster: the prefix is wrapped in {} (one hash slot), once', () => {
    expect(redisOf('{ cluster: { nodes: ["10.0.0.7:7000"] } }').prefix).toBe('{rotator}');
    expect(redisOf('{ cluster: { nodes: ["10.0.0.7:7000"] }, prefix: team-a }').prefix).toBe('{team-a}');
    expect(redisOf('{ cluster: { nodes: ["10.0.0.7:7000"] }, prefix: "{team-a}" }').prefix).toBe('{team-a}');
    // braces are allowed without a cluster too (a deployment moving to one), and kept as written
    expect(redisOf('{ prefix: "{team-a}" }').prefix).toBe('{team-a}');
  });

  it('a password inside redis.url is an error naming redis.url and pointing to redis.password, without echoing it', () => {
    for (const url of ['redis://:s3cret-pw@h:6379', 'rediss://user:s3cret-pw@h:6380/2']) {
      const problems = problemsOf(`{ url: '${url}' }`);
      expect(problems).toEqual([
        {
          path: 'redis.url',
          message: 'must not contain a password: give it as redis.password: { env: NAME } or { file: PATH }',
        },
      ]);
      expect(JSON.stringify(problems)).not.toContain('s3cret-pw');
    }
  });

  it('a literal password is refused: references only', () => {
    expect(problemsOf('{ password: hunter2-literal }')).toEqual([
      {
        path: 'redis.password',
        message: 'literal secret values are not allowed: use { env: NAME } or { file: PATH }',
      },
    ]);
  });

  it('names each other problem', () => {
    const cases: [string, { path: string; message: string }][] = [
      [
        '{ url: "redis://h:6379", cluster: { nodes: ["h:7000"] } }',
        { path: 'redis.cluster', message: 'give one of url, sentinel or cluster, not url and cluster' },
      ],
      [
        '{ sentinel: { name: m, nodes: ["h"] } }',
        { path: 'redis.sentinel.nodes[0]', message: 'must be host:port, e.g. 10.0.0.5:26379' },
      ],
      [
        '{ cluster: { nodes: [] } }',
        { path: 'redis.cluster.nodes', message: 'must list at least one host:port' },
      ],
      [
        '{ tls: { cert: /c.pem } }',
        { path: 'redis.tls.key', message: 'a client certificate needs both cert and key' },
      ],
      ['{ tls: { verify: false } }', { path: 'redis.tls.verify', message: 'unknown key' }],
      [
        '{ url: "redis://h:6379?family=6" }',
        {
          path: 'redis.url',
          message: 'query parameters are not supported: use the keys of the redis block instead',
        },
      ],
      [
        '{ url: "redis://h:6379/x" }',
        { path: 'redis.url', message: 'the path must be a database number, e.g. /0' },
      ],
      [
        '{ url: "redis://u@h:6379", username: v }',
        { path: 'redis.username', message: 'the URL names a user already: give it in one place' },
      ],
      [
        '{ prefix: "{a}b" }',
        { path: 'redis.prefix', message: 'must be letters, digits, dash or underscore (optionally in {})' },
      ],
    ];
    for (const [block, problem] of cases) expect(problemsOf(block)).toContainEqual(problem);
  });
});

describe('REDIS_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-redis-schema-'));
  const file = join(dir, 'rotator.yaml');

  it('replaces url, sentinel or cluster; a password inside it is allowed (it is not the config file)', () => {
    try {
      writeFileSync(
        file,
        `redis: { sentinel: { name: m, nodes: ["h:26379"] }, password: { env: P }, prefix: p }\n${targets}`,
      );
      const config = loadConfig(file, { REDIS_URL: 'redis://:env-pw@10.1.1.1:6379' });
      expect(config.redis).toEqual({
        url: 'redis://:env-pw@10.1.1.1:6379',
        password: { env: 'P' },
        prefix: 'p',
      });
      let error: unknown;
      try {
        loadConfig(file, { REDIS_URL: 'http://:env-pw@10.1.1.1' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        { path: 'REDIS_URL', message: 'must be a redis:// or rediss:// URL' },
      ]);
      expect((error as Error).message).not.toContain('env-pw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseRedisUrl / redactRedisUrl', () => {
  it('reads host, port, db, user, password and TLS; the redacted form has no credentials', () => {
    const parsed = parseRedisUrl('rediss://alice:p%40ss@[::1]:6390/3');
    expect(parsed).toEqual({
      ok: true,
      value: { tls: true, host: '::1', port: 6390, db: 3, username: 'alice', password: 'p@ss' },
    });
    expect(redactRedisUrl('rediss://alice:p%40ss@[::1]:6390/3')).toBe('rediss://[::1]:6390/3');
    expect(redactRedisUrl('redis://:pw@cache')).toBe('redis://cache:6379');
    expect(redactRedisUrl('not a url :pw@')).toBe('(an invalid Redis URL)');
  });
});
