import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConfigInput } from '../../src/config/redis-schema.js';
import { createRedisConnection } from '../../src/queue/connection.js';
import { type ServerGroup, serverGroup, startTlsRedis, type TlsRedis } from '../support/redis-servers.js';
import { rotateEndToEnd } from './end-to-end.js';

// Generated per run: these are the test server's credentials, nothing else's.
const PASSWORD = `tls-pw-${Math.random().toString(36).slice(2)}-Zq9`;

let group: ServerGroup;
let server: TlsRedis;

beforeAll(async () => {
  group = await serverGroup('tls');
  server = await startTlsRedis(group, PASSWORD);
}, 60_000);

afterAll(async () => {
  await group?.stop();
});

describe('Redis over TLS with a private CA, a client certificate and requirepass', () => {
  const block = () => ({
    url: `rediss://127.0.0.1:${server.port}`,
    password: { env: 'E2E_REDIS_PASSWORD' },
    tls: {
      ca: server.pki.ca,
      cert: server.pki.clientCert,
      key: server.pki.clientKey,
      servername: server.pki.serverName,
    },
  });

  it('the worker, the CLI and the HTTP server rotate every sandbox target end to end', async () => {
    const { fleet, dump } = await rotateEndToEnd({
      redis: block(),
      redisEnv: { E2E_REDIS_PASSWORD: PASSWORD },
      secrets: [PASSWORD],
      describedAs: `rediss://127.0.0.1:${server.port}`,
    });
    try {
      expect(dump.some((k) => k.startsWith(`${fleet.prefix}:rotations:`))).toBe(true);
    } finally {
      await fleet.close();
    }
  }, 120_000);

  it('the connection checks the server against the CA and the servername', async () => {
    const env = { E2E_REDIS_PASSWORD: PASSWORD };
    const attempt = async (redis: Omit<RedisConfigInput, 'prefix'>) => {
      const c = createRedisConnection({ ...redis, prefix: 'x' }, { role: 'client', env });
      // connect() only says the connection closed; the TLS error comes as an 'error' event
      const errors: string[] = [];
      c.on('error', (err: Error) => errors.push(err.message));
      try {
        await c.connect();
        return await c.ping();
      } catch (err) {
        return [...errors, (err as Error).message].join('; ');
      } finally {
        c.disconnect();
      }
    };
    expect(await attempt(block())).toBe('PONG');
    // without the CA, the server's certificate is not trusted
    const { ca: _ca, ...noCa } = block().tls;
    expect(await attempt({ ...block(), tls: noCa })).toMatch(/certificate/i);
    // without the servername, 127.0.0.1 is not a name in the certificate
    const { servername: _name, ...noName } = block().tls;
    expect(await attempt({ ...block(), tls: noName })).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    // a plain connection is not answered as Redis
    const plain = new Redis({
      port: server.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    plain.on('error', () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  }, 60_000);
});
