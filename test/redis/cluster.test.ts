import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy } from '../../src/queue/connection.js';
import {
  type ClusterRedis,
  type ServerGroup,
  serverGroup,
  startClusterRedis,
} from '../support/redis-servers.js';
import { rotateEndToEnd } from './end-to-end.js';

// Generated per run: the test servers' credentials, nothing else's.
const PASSWORD = `cluster-pw-${Math.random().toString(36).slice(2)}-Zq9`;

let group: ServerGroup;
let servers: ClusterRedis;

beforeAll(async () => {
  group = await serverGroup('cluster');
  servers = await startClusterRedis(group, PASSWORD);
}, 90_000);

afterAll(async () => {
  await group?.stop();
});

describe('Redis Cluster (three masters, requirepass)', () => {
  it('the worker, the CLI and the HTTP server rotate end to end, every key of the deployment in one slot', async () => {
    const nodes = servers.ports.slice(0, 2).map((p) => `127.0.0.1:${p}`);
    const { fleet, dump } = await rotateEndToEnd({
      redis: { cluster: { nodes }, password: { env: 'E2E_REDIS_PASSWORD' } },
      redisEnv: { E2E_REDIS_PASSWORD: PASSWORD },
      secrets: [PASSWORD],
      describedAs: `cluster ${nodes.join(', ')}`,
    });
    try {
      // the configured prefix, wrapped in {} for the user
      expect(fleet.config.redis.prefix).toBe(`{${fleet.prefix}}`);
      expect(fleet.redis).toBeInstanceOf(Cluster);
      const cluster = fleet.redis as Cluster;
      const keys = dump.filter((entry) => entry.startsWith(`{${fleet.prefix}}:`));
      expect(keys.length).toBeGreaterThan(10);
      const slots = new Set(await Promise.all(keys.map((k) => cluster.cluster('KEYSLOT', k))));
      expect(slots.size).toBe(1);
      // the cluster really has three masters, and the start-up check reads each one's policy
      expect(cluster.nodes('master')).toHaveLength(3);
      const warnings: string[] = [];
      const policies = await checkEvictionPolicy(cluster, {
        warn: (_o: object, m: string) => void warnings.push(m),
      });
      expect([...policies.values()]).toEqual(['noeviction', 'noeviction', 'noeviction']);
      expect(warnings).toEqual([]);
    } finally {
      await fleet.close();
    }
  }, 120_000);
});
