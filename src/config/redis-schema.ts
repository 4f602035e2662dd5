import { z } from 'zod';
import { secretRefSchema } from './secret-ref.js';

/**
 * The `redis:` block. One of `url`, `sentinel` or `cluster` names where Redis is (none: the local
 * default); credentials are `username` plus `password` as a reference, never inside the URL; TLS is
 * on with `rediss://` or a `tls` block. Pure: files and references are read when connecting
 * (src/queue/connection.ts).
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A Redis address: `host:port`, `[ipv6]:port`. */
export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port`, or undefined when it is not one. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** What a redis:// or rediss:// URL says, credentials apart. */
export interface ParsedRedisUrl {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

/**
 * Parses a redis:// or rediss:// URL (host, port, optional user and password, optional /db). Errors
 * never quote the URL: it may carry a password.
 */
export function parseRedisUrl(
  url: string,
): { ok: true; value: ParsedRedisUrl } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  if (!/^rediss?:\/\//i.test(url)) return fail('must be a redis:// or rediss:// URL');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail('must be a redis:// or rediss:// URL (host[:port][/db])');
  }
  if (u.hostname === '') return fail('must name a host: redis://HOST[:PORT][/DB]');
  if (u.search !== '' || u.hash !== '')
    return fail('query parameters are not supported: use the keys of the redis block instead');
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) return fail('the path must be a database number, e.g. /0');
  const value: ParsedRedisUrl = {
    tls: u.protocol.toLowerCase() === 'rediss:',
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    db: path === '' ? 0 : Number(path),
  };
  if (u.username !== '') value.username = decodeURIComponent(u.username);
  if (u.password !== '') value.password = decodeURIComponent(u.password);
  return { ok: true, value };
}

/** A URL with its user and password removed: safe for any message. */
export function redactRedisUrl(url: string): string {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) return '(an invalid Redis URL)';
  const { tls, host, port, db } = parsed.value;
  const h = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'rediss' : 'redis'}://${h}:${port}${db ? `/${db}` : ''}`;
}

const hostPortSchema = z
  .string()
  .refine((s) => parseHostPort(s) !== undefined, 'must be host:port, e.g. 10.0.0.5:26379');

const nodesSchema = z.array(hostPortSchema).min(1, 'must list at least one host:port');

const filePathSchema = z.string().min(1, 'must be a file path');

export const redisTlsSchema = z.strictObject({
  /** PEM file of the CA (or CAs) that signed the server's certificate; default: Node's trusted CAs. */
  ca: filePathSchema.optional(),
  /** PEM client certificate, for servers that require one (with `key`). */
  cert: filePathSchema.optional(),
  /** PEM private key of `cert`. */
  key: filePathSchema.optional(),
  /** Name checked against the server's certificate (and sent as SNI); default: the host. */
  servername: z.string().min(1).optional(),
});
export type RedisTlsConfig = z.infer<typeof redisTlsSchema>;

const PREFIX_PATTERN = /^(?:[A-Za-z0-9_-]+|\{[A-Za-z0-9_-]+\})$/;

const URL_PASSWORD_MESSAGE =
  'must not contain a password: give it as redis.password: { env: NAME } or { file: PATH }';

export const redisSchema = z
  .strictObject({
    url: z
      .string()
      .superRefine((url, ctx) => {
        const parsed = parseRedisUrl(url);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
        else if (parsed.value.password !== undefined)
          ctx.addIssue({ code: 'custom', message: URL_PASSWORD_MESSAGE });
      })
      .optional(),
    sentinel: z
      .strictObject({
        /** The master group's name, as in the sentinels' `sentinel monitor NAME ...`. */
        name: z.string().min(1),
        nodes: nodesSchema,
        /** ACL user and password of the sentinels themselves (when they require one). */
        username: z.string().min(1).optional(),
        password: secretRefSchema.optional(),
      })
      .optional(),
    cluster: z.strictObject({ nodes: nodesSchema }).optional(),
    /** ACL user (Redis 6+); without it, `password` is the `requirepass` password. */
    username: z.string().min(1).optional(),
    password: secretRefSchema.optional(),
    tls: redisTlsSchema.optional(),
    /** Key prefix for every queue and key; on a Cluster it is wrapped in {} (one hash slot). */
    prefix: z
      .string()
      .regex(PREFIX_PATTERN, 'must be letters, digits, dash or underscore (optionally in {})')
      .default('rotator'),
  })
  .superRefine((r, ctx) => {
    const given = (['url', 'sentinel', 'cluster'] as const).filter((k) => r[k] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1]!],
        message: `give one of url, sentinel or cluster, not ${given.join(' and ')}`,
      });
    }
    if (r.url !== undefined && r.username !== undefined) {
      const parsed = parseRedisUrl(r.url);
      if (parsed.ok && parsed.value.username !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['username'],
          message: 'the URL names a user already: give it in one place',
        });
    }
    if (r.tls && (r.tls.cert === undefined) !== (r.tls.key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', r.tls.cert === undefined ? 'cert' : 'key'],
        message: 'a client certificate needs both cert and key',
      });
    }
  })
  .transform((r) => {
    const out = { ...r };
    if (out.url === undefined && out.sentinel === undefined && out.cluster === undefined)
      out.url = DEFAULT_REDIS_URL;
    // Redis Cluster: BullMQ's scripts touch several keys of a queue at once, so every key must
    // hash to one slot. A {hash tag} makes Redis hash only what is inside the braces.
    if (out.cluster !== undefined) out.prefix = clusterPrefix(out.prefix);
    return out;
  });

export type RedisConfig = z.infer<typeof redisSchema>;
export type RedisConfigInput = z.input<typeof redisSchema>;

/** `rotator` → `{rotator}`; a prefix already in braces stays as it is. */
export function clusterPrefix(prefix: string): string {
  return /^\{.*\}$/.test(prefix) ? prefix : `{${prefix}}`;
}

/**
 * The redis block with REDIS_URL in effect: the URL replaces url, sentinel and cluster (the prefix,
 * user, password and tls stay). A password inside REDIS_URL is allowed: it is an environment value,
 * not the config file. The message never quotes the URL.
 */
export function applyRedisUrl(
  redis: RedisConfig,
  url: string,
): { ok: true; redis: RedisConfig } | { ok: false; message: string } {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) return parsed;
  const { sentinel: _sentinel, cluster: _cluster, ...rest } = redis;
  return { ok: true, redis: { ...rest, url } };
}
