import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startHttpServer,
  type HttpServerHandle,
  type HttpServerOptions,
  type ReadyCheck,
} from '../../src/http/server.js';
import { manualClock } from '../../src/core/clock.js';
import { createStore } from '../../src/secrets/index.js';
import { createRotatorMetrics } from '../../src/metrics/registry.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { memoryLogger, recordingControl, STATUSES } from './support.js';

const TOKEN = 'tok-3b1f0c9e-a8d2-4e61-9f7b-5c2d8e1a4b70';

let connection: Redis;
let queue: Queue;
let server: HttpServerHandle | undefined;

beforeAll(async () => {
  connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  queue = new Queue(uniquePrefix('http-rotations'), { connection, prefix: uniquePrefix('bull') });
  await queue.waitUntilReady();
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(
  ready: ReadyCheck = async () => {},
  extra: Pick<HttpServerOptions, 'clock' | 'readyCacheMs'> = {},
) {
  const logger = memoryLogger();
  const control = recordingControl();
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    control,
    ready,
    ...extra,
    registry: createRotatorMetrics({ statuses: () => control.statuses() }).registry,
    queues: [queue],
    logger,
  });
  return { url: server.url, logger, control };
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

async function postRotations(url: string, body: unknown, headers: Record<string, string> = bearer) {
  return fetch(`${url}/api/rotations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('health and readiness', () => {
  it('/healthz answers 200 without credentials', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 when every check passes and 503 naming only the failing part otherwise', async () => {
    let storeUp = true;
    const detail = 'secret store unreachable: open /var/lib/rotator/secrets.json: ECONNREFUSED';
    const clock = manualClock();
    const { url, logger } = await start(
      {
        redis: async () => {
          await connection.ping();
        },
        store: async () => {
          if (!storeUp) throw new Error(detail);
        },
      },
      { clock, readyCacheMs: 5_000 },
    );
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    storeUp = false;
    clock.advance(5_000); // the cached answer has expired
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    // unauthenticated: the names of the failing checks, never their error text (paths, hosts)
    expect(JSON.parse(text)).toEqual({ status: 'not ready', failing: ['store'] });
    expect(text).not.toContain('/var/lib');
    expect(text).not.toContain('ECONNREFUSED');
    // the details go to the server's log
    const logged = logger.entries.filter((e) => e.msg === 'not ready');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.obj).toEqual({ failed: [{ check: 'store', error: detail }] });
  });

  it('/readyz runs its checks once per cache window, however many probes arrive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'readyz-'));
    const store = createStore({ type: 'file', path: join(dir, 'secrets.enc') });
    const calls = { redis: 0, store: 0 };
    let storeUp = true;
    const clock = manualClock();
    try {
      const { url, logger } = await start(
        {
          redis: async () => {
            calls.redis += 1;
            await connection.ping();
          },
          store: async () => {
            calls.store += 1;
            if (!storeUp) throw new Error('store down');
            await store.ping('prod/css/search/admin');
          },
        },
        { clock, readyCacheMs: 5_000 },
      );
      const probe = async () => (await fetch(`${url}/readyz`)).status;
      // Ten at once (they share one run of the checks), then ten one after the other.
      expect(await Promise.all(Array.from({ length: 10 }, probe))).toEqual(Array(10).fill(200));
      for (let i = 0; i < 10; i++) expect(await probe()).toBe(200);
      expect(calls).toEqual({ redis: 1, store: 1 });

      // Just inside the window: still the cached answer, even though the store is now down.
      storeUp = false;
      clock.advance(4_999);
      expect(await probe()).toBe(200);
      expect(calls).toEqual({ redis: 1, store: 1 });

      // Past it: one new run; its failure is cached (and logged) once too.
      clock.advance(1);
      for (let i = 0; i < 5; i++) expect(await probe()).toBe(503);
      expect(calls).toEqual({ redis: 2, store: 2 });
      expect(logger.entries.filter((e) => e.msg === 'not ready')).toHaveLength(1);

      storeUp = true;
      clock.advance(5_000);
      expect(await probe()).toBe(200);
      expect(calls).toEqual({ redis: 3, store: 3 });
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('/readyz takes a single function too, and a check that hangs times out', async () => {
    const logger = memoryLogger();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      control: recordingControl(),
      ready: () => new Promise(() => {}),
      readyTimeoutMs: 100,
      registry: createRotatorMetrics().registry,
      queues: [],
      logger,
    });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', failing: ['ready'] });
    expect(logger.entries.find((e) => e.msg === 'not ready')?.obj).toEqual({
      failed: [{ check: 'ready', error: 'no answer within 100ms' }],
    });
  });
});

describe('authentication', () => {
  it('refuses a missing or wrong credential with 401 and a challenge, and logs it without the credential', async () => {
    const { url, logger } = await start();
    const wrong = 'wrong-token-7f3a9c2e1d';
    const cases: [string, Record<string, string>][] = [
      ['/api/targets', {}],
      ['/api/targets', { authorization: `Bearer ${wrong}` }],
      ['/api/targets', basic('admin', TOKEN)],
      ['/metrics', { authorization: `Bearer ${TOKEN}x` }],
      ['/admin/queues', {}],
      ['/admin/queues', basic('admin', wrong)],
    ];
    for (const [path, headers] of cases) {
      const res = await fetch(`${url}${path}?token=${wrong}`, { headers });
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('realm="secret-rotator"');
      expect(await res.text()).not.toContain(wrong);
    }
    const refused = logger.entries.filter((e) => e.msg === 'http authentication refused');
    expect(refused).toHaveLength(cases.length);
    expect(refused.map((e) => (e.obj as { reason: string }).reason)).toEqual([
      'missing',
      'wrong',
      'scheme-not-allowed',
      'wrong',
      'missing',
      'wrong',
    ]);
    expect((refused[0]!.obj as { path: string }).path).toBe('/api/targets');
    const logged = JSON.stringify(logger.entries);
    expect(logged).not.toContain(wrong);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain(Buffer.from(`admin:${wrong}`).toString('base64'));
  });

  it('offers Basic to browsers on the dashboard only', async () => {
    const { url } = await start();
    const dash = await fetch(`${url}/admin/queues`);
    expect(dash.headers.get('www-authenticate')).toMatch(/^Basic realm="secret-rotator"/);
    const api = await fetch(`${url}/api/targets`);
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="secret-rotator"');
  });

  it('opens the dashboard with Basic (any user, the token as password) and with Bearer', async () => {
    const { url } = await start();
    const page = await fetch(`${url}/admin/queues`, { headers: basic('operator', TOKEN) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    const api = await fetch(`${url}/admin/queues/api/queues`, { headers: bearer });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toEqual([queue.name]);
  });

  it('is read-only by default: a write (add, retry, pause) is refused and changes nothing', async () => {
    const { url } = await start();
    const name = encodeURIComponent(queue.name);
    const before = await queue.getJobCounts();
    const add = await fetch(`${url}/admin/queues/api/queues/${name}/add`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rotate', data: { targetId: 'css-logs' }, options: {} }),
    });
    expect(add.status).toBe(405);
    for (const path of ['retry/failed', 'pause', 'clean/completed']) {
      const res = await fetch(`${url}/admin/queues/api/queues/${name}/${path}`, {
        method: 'PUT',
        headers: bearer,
      });
      expect(res.status, path).toBe(405);
    }
    expect(await queue.getJobCounts()).toEqual(before);
    expect(await queue.isPaused()).toBe(false);
    // Reading still works.
    expect((await fetch(`${url}/admin/queues/api/queues`, { headers: bearer })).status).toBe(200);
  });

  it('takes dashboard writes only when opted in', async () => {
    await server?.close();
    const logger = memoryLogger();
    const control = recordingControl();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      control,
      ready: async () => {},
      registry: createRotatorMetrics({ statuses: () => control.statuses() }).registry,
      queues: [queue],
      logger,
      dashboardReadOnly: false,
    });
    const res = await fetch(`${server.url}/admin/queues/api/queues/${encodeURIComponent(queue.name)}/pause`, {
      method: 'PUT',
      headers: bearer,
    });
    expect(res.status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    await queue.resume();
  });

  it('refuses dashboard writes from another origin even with valid credentials', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/admin/queues/api/queues/${encodeURIComponent(queue.name)}/pause`, {
      method: 'PUT',
      headers: { ...basic('operator', TOKEN), origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(await queue.isPaused()).toBe(false);
  });
});

describe('API', () => {
  it('GET /api/targets returns the target statuses', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/api/targets`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(STATUSES);
  });

  it('POST /api/rotations enqueues the given targets as the api actor', async () => {
    const { url, control } = await start();
    const res = await postRotations(url, { targets: ['css-logs', 'otc-search', 'css-logs'] });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual([
      { targetId: 'css-logs', jobId: 'job-1-0', deduplicated: false },
      { targetId: 'otc-search', jobId: 'job-1-1', deduplicated: false },
    ]);
    expect(control.calls).toEqual([{ targets: ['css-logs', 'otc-search'], trigger: 'api', actor: 'api' }]);

    const all = await postRotations(url, { all: true });
    expect(all.status).toBe(202);
    expect(((await all.json()) as unknown[]).length).toBe(3);
    expect(control.calls[1]).toEqual({ targets: 'all', trigger: 'api', actor: 'api' });
  });

  it('POST /api/rotations answers 404 listing unknown targets and enqueues nothing', async () => {
    const { url, control } = await start();
    const res = await postRotations(url, { targets: ['css-logs', 'nope', 'gone'] });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: 'unknown target id(s): nope, gone',
      unknown: ['nope', 'gone'],
    });
    expect(control.calls).toEqual([]);
  });

  it('POST /api/rotations answers 400 naming the field', async () => {
    const { url, control } = await start();
    const cases: [unknown, { path: string; message: string }[]][] = [
      [{}, [{ path: 'targets', message: 'required (or "all": true)' }]],
      [{ targets: [] }, [{ path: 'targets', message: 'must name at least one target' }]],
      [{ targets: 'css-logs' }, [{ path: 'targets', message: 'must be an array of target ids' }]],
      [{ targets: ['ok', ''] }, [{ path: 'targets[1]', message: 'must be a non-empty target id' }]],
      [{ all: false }, [{ path: 'all', message: 'must be true' }]],
      [
        { all: true, targets: ['x'] },
        [{ path: 'body', message: 'give either "targets" or "all", not both' }],
      ],
      [{ targets: ['x'], force: true }, [{ path: 'force', message: 'unknown field' }]],
      [
        [1],
        [{ path: 'body', message: 'must be a JSON object: { "targets": ["id", ...] } or { "all": true }' }],
      ],
      ['{"targets": [', [{ path: 'body', message: 'not valid JSON' }]],
    ];
    for (const [body, problems] of cases) {
      const res = await postRotations(url, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json(), JSON.stringify(body)).toEqual({ error: 'invalid request', problems });
    }
    const text = await fetch(`${url}/api/rotations`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'text/plain' },
      body: 'all',
    });
    expect(text.status).toBe(415);
    expect(control.calls).toEqual([]);
  });

  it('answers 500 without details when the control fails, and logs it', async () => {
    const logger = memoryLogger();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      control: {
        rotate: () => Promise.reject(new Error('redis down')),
        statuses: () => Promise.reject(new Error('redis down')),
      },
      ready: async () => {},
      registry: createRotatorMetrics().registry,
      queues: [],
      logger,
    });
    const res = await fetch(`${server.url}/api/targets`, { headers: bearer });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    expect(logger.entries.find((e) => e.level === 'error')?.obj).toMatchObject({
      err: { message: 'redis down' },
    });
  });

  it('serves /metrics as Prometheus text with the bearer token', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/metrics`, { headers: bearer });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('rotator_overdue_targets 2');
  });
});
