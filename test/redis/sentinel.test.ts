import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SentinelRedis,
  type ServerGroup,
  serverGroup,
  startSentinelRedis,
} from '../support/redis-servers.js';
import { rotateEndToEnd } from './end-to-end.js';

// Generated per run: the test servers' credentials, nothing else's.
const PASSWORD = `master-pw-${Math.random().toString(36).slice(2)}-Zq9`;
const SENTINEL_PASSWORD = `sentinel-pw-${Math.random().toString(36).slice(2)}-Zq9`;

let group: ServerGroup;
let servers: SentinelRedis;

beforeAll(async () => {
  group = await serverGroup('sentinel');
  servers = await startSentinelRedis(group, PASSWORD, SENTINEL_PASSWORD);
}, 60_000);

afterAll(async () => {
  await group?.stop();
});

describe('Redis behind Sentinel (a master and one sentinel, both with a password)', () => {
  it('the worker, the CLI and the HTTP server find the master through the sentinel and rotate end to end', async () => {
    const sentinelNode = `127.0.0.1:${servers.sentinelPort}`;
    const { fleet, dump } = await rotateEndToEnd({
      redis: {
        sentinel: { name: servers.name, nodes: [sentinelNode], password: { env: 'E2E_SENTINEL_PASSWORD' } },
        password: { env: 'E2E_REDIS_PASSWORD' },
      },
      redisEnv: { E2E_REDIS_PASSWORD: PASSWORD, E2E_SENTINEL_PASSWORD: SENTINEL_PASSWORD },
      secrets: [PASSWORD, SENTINEL_PASSWORD],
      describedAs: `sentinel master '${servers.name}' via ${sentinelNode}`,
    });
    try {
      // the keys are on the master the sentinel named
      expect(fleet.redis.options).toMatchObject({ name: servers.name });
      expect(dump.some((k) => k.startsWith(`${fleet.prefix}:rotations:`))).toBe(true);
      const role = (await fleet.redis.call('ROLE')) as [string, ...unknown[]];
      expect(role[0]).toBe('master');
      const port = (await fleet.redis.call('CONFIG', 'GET', 'port')) as string[];
      expect(Number(port[1])).toBe(servers.masterPort);
    } finally {
      await fleet.close();
    }
  }, 120_000);
});
