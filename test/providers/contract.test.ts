import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retrySchema, rotationTimingSchema } from '../../src/config/schema.js';
import { type Clock, manualClock } from '../../src/core/clock.js';
import { generatePassword } from '../../src/policy/generate.js';
import { UNKNOWN_ROUTE_DETAIL } from '../../src/providers/ncp-cdss/classify.js';
import { type ErrorKind, isProviderError, type ProviderError } from '../../src/providers/errors.js';
import type { ProviderId } from '../../src/config/provider-ids.js';
import { createProvider, providerIds } from '../../src/providers/registry.js';
import type { CallOptions, Provider, ProviderTarget } from '../../src/providers/types.js';
import {
  type Sandbox,
  type SandboxCluster,
  type SandboxFault,
  sandboxTarget,
  startSandbox,
} from '../../src/sandbox/index.js';
import { decideRetry } from '../../src/rotation/retry-decision.js';
import { rotate } from '../../src/rotation/rotate.js';
import { isRotationError, type RotationError } from '../../src/rotation/rotation-error.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { readPassword } from '../../src/secrets/format.js';
import { createKeepAliveClient, type HttpClient } from '../../src/util/http-client.js';
import { dataPlaneLogin, sandboxSpec, testPassword } from '../support/sandbox.js';

const START = Date.UTC(2026, 0, 1);
const BUSY_MS = 60_000;

interface FaultCase {
  name: string;
  fault: SandboxFault;
  kind: ErrorKind;
  op?: 'reset' | 'status';
  /** The password changed although the call failed. */
  applied?: boolean;
  retryAfterMs?: number;
  timeoutMs?: number;
}

function faultCases(id: ProviderId): FaultCase[] {
  const cases: FaultCase[] = [
    { name: '412', fault: { type: 'http', status: 412 }, kind: 'precondition' },
    { name: '401', fault: { type: 'http', status: 401 }, kind: 'auth' },
    { name: '403', fault: { type: 'http', status: 403 }, kind: 'auth' },
    { name: '404', fault: { type: 'http', status: 404 }, kind: 'not-found' },
    {
      name: '429 Retry-After seconds',
      fault: { type: 'throttle', retryAfter: '7' },
      kind: 'throttled',
      retryAfterMs: 7000,
    },
    {
      name: '429 Retry-After date',
      fault: { type: 'throttle', retryAfter: new Date(START + 90_000).toUTCString() },
      kind: 'throttled',
      retryAfterMs: 90_000,
    },
    { name: '500', fault: { type: 'http', status: 500 }, kind: 'unknown-outcome' },
    { name: '503', fault: { type: 'http', status: 503 }, kind: 'unknown-outcome' },
    { name: 'hang past the timeout', fault: { type: 'hang' }, kind: 'unknown-outcome', timeoutMs: 300 },
    { name: 'apply then drop', fault: { type: 'drop-after-apply' }, kind: 'unknown-outcome', applied: true },
    { name: 'malformed JSON', fault: { type: 'malformed-json' }, kind: 'bad-response' },
    {
      name: 'status: malformed JSON',
      fault: { type: 'malformed-json', op: 'status' },
      kind: 'bad-response',
      op: 'status',
    },
    {
      name: 'status: 429',
      fault: { type: 'throttle', op: 'status', retryAfter: '1' },
      kind: 'throttled',
      op: 'status',
      retryAfterMs: 1000,
    },
    {
      name: 'status: hang',
      fault: { type: 'hang', op: 'status' },
      kind: 'unknown-outcome',
      op: 'status',
      timeoutMs: 300,
    },
    {
      name: 'status: 404',
      fault: { type: 'http', status: 404, op: 'status' },
      kind: 'not-found',
      op: 'status',
    },
  ];
  if (id === 'ncp-cdss')
    cases.push({ name: '200 with result null', fault: { type: 'result-null' }, kind: 'bad-response' });
  return cases;
}

/** A rule-breaking password per provider and the code the cloud answers with. */
const REJECTED: Record<ProviderId, { password: string; code: string }[]> = {
  'ncp-cdss': [
    { password: 'Sh0rt-x', code: '1001' },
    { password: 'nouppercase-1x', code: '1001' },
    { password: 'Has/Slash-1x', code: '1001' },
  ],
  'huaweicloud-css': [
    { password: 'Sh0rt-x', code: 'CSS.0050' },
    { password: 'onlylowercase1', code: 'CSS.2026' },
    { password: 'Xadmin-1234', code: 'CSS.2026' },
  ],
  'otc-css': [
    { password: 'Way-too-long-1234567890-1234567890', code: 'CSS.0050' },
    { password: 'NoDigitsOrSpecials', code: 'CSS.2026' },
    { password: 'Qw1-nImDa-xyz', code: 'CSS.2026' },
  ],
};

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (isProviderError(err)) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function expectNoSecret(err: ProviderError, ...secrets: string[]): void {
  const text = `${err.message}\n${JSON.stringify(err)}\n${String(err.stack)}`;
  for (const s of secrets) expect(text).not.toContain(s);
}

/** Every provider runs the contract over the global fetch (tests, CLI) and the worker's keep-alive client. */
const clients: { name: string; make: () => { http: HttpClient; close(): void } }[] = [
  { name: 'global fetch', make: () => ({ http: globalThis.fetch, close: () => undefined }) },
  {
    name: 'keep-alive client',
    make: () => {
      const c = createKeepAliveClient();
      return { http: c, close: () => c.close() };
    },
  },
];

describe.each(providerIds().flatMap((id) => clients.map((c) => [id, c.name, c] as const)))(
  'provider contract: %s against the sandbox over %s',
  (id, _name, client) => {
    let sandbox: Sandbox;
    let clock: Clock & { advance(ms: number): void };
    let provider: Provider;
    let cluster: SandboxCluster;
    let target: ProviderTarget;
    let initial: string;
    let http: { http: HttpClient; close(): void };

    beforeEach(async () => {
      clock = manualClock(START);
      sandbox = await startSandbox({ clock, busyMs: BUSY_MS });
      cluster = sandbox.clusters.add(sandboxSpec(id));
      initial = cluster.password;
      http = client.make();
      provider = createProvider(id, { fetch: http.http, clock, timeoutMs: 5000 });
      target = sandboxTarget(sandbox.url, cluster);
    });
    afterEach(async () => {
      http.close();
      await sandbox.close();
    });

    it('resets the password; the data plane then accepts the new one and refuses the old', async () => {
      const pw = testPassword();
      expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, initial)).toBe(200);
      const result = await provider.reset(target, pw);
      expect(result.status).toBe(200);
      expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(cluster.password).toBe(pw);
      expect(cluster.history).toEqual([initial, pw]);
      expect(target.config.dataPlane?.url).toBe(cluster.dataPlaneUrl);
      expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, pw)).toBe(200);
      expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, initial)).toBe(401);
      const log = sandbox.requests();
      expect(log.find((e) => e.operation === 'reset')).toMatchObject({
        provider: id,
        cluster: cluster.key,
        accessKey: cluster.spec.accessKey,
        status: 200,
        outcome: 'ok',
      });
      expect(JSON.stringify(log)).not.toContain(pw);
      expect(JSON.stringify(log)).not.toContain(initial);
    });

    it('reports ready, busy right after a reset, ready again once the change has applied', async () => {
      expect(await provider.status(target)).toMatchObject({ state: 'ready' });
      await provider.reset(target, testPassword());
      expect(await provider.status(target)).toMatchObject({ state: 'busy' });
      clock.advance(BUSY_MS + 1);
      expect(await provider.status(target)).toMatchObject({ state: 'ready' });
    });

    it('answers a second reset while the cluster is busy with busy, and counts the overlap', async () => {
      const first = testPassword();
      await provider.reset(target, first);
      const err = await failure(provider.reset(target, testPassword()));
      expect(err.kind).toBe('busy');
      expect(err.status).toBe(409);
      if (id !== 'ncp-cdss') expect(err.vendorCode).toBe('CSS.0011');
      expect(cluster.password).toBe(first);
      expect(cluster.overlaps).toBe(1);
    });

    it('reports what the cloud says beside the state: security mode (CSS), the manager user (NCP)', async () => {
      const status = await provider.status(target);
      if (id === 'ncp-cdss') {
        // the cluster's own manager user, chosen at creation: not admin
        expect(status.managerUser).toBe(cluster.username);
        expect(status.managerUser).toMatch(/^[a-z]{3,15}$/);
        expect(status.managerUser).not.toBe('admin');
        expect(status.securityMode).toBeUndefined();
      } else {
        expect(status.securityMode).toBe(true);
        expect(status.managerUser).toBeUndefined();
      }
    });

    it('a rotation stores the user the cloud reports when the config names none; secret.username wins', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'contract-username-'));
      const store = createFileStore({
        path: join(dir, 'store.json'),
        keyBytes: randomBytes(32),
        now: clock.now,
      });
      const timing = rotationTimingSchema.parse({});
      try {
        const { username: _named, ...secret } = target.config.secret;
        const unnamed = { ...target, config: { ...target.config, secret } };
        const named = {
          ...target,
          config: { ...target.config, secret: { ...secret, id: `${secret.id}-named`, username: 'ops-user' } },
        };
        for (const [t, rotationId] of [
          [unnamed, 'username-from-cloud'],
          [named, 'username-from-config'],
        ] as const) {
          const run = rotate(
            { target: t, rotationId, policy: provider.policy, timing },
            { provider, store, clock, generatePassword },
          );
          // The sandbox's cluster is busy for BUSY_MS after the reset: let the manual clock move.
          let settled = false;
          void run.finally(() => (settled = true)).catch(() => undefined);
          while (!settled) {
            await new Promise((r) => setTimeout(r, 1));
            clock.advance(timing.pollInterval);
          }
          await run;
        }
        const stored = async (secretId: string) =>
          JSON.parse((await store.getCurrent(secretId))!.text) as { username: string; password: string };
        const fromCloud = await stored(secret.id);
        const fromConfig = await stored(`${secret.id}-named`);
        // Both secrets name the same cluster here: it holds the password of the later rotation.
        expect(fromConfig.password).toBe(cluster.password);
        expect(fromCloud.password).not.toBe(initial);
        // NCP reports the cluster's own manager user; CSS reports none, so the provider's default.
        expect(fromCloud.username).toBe(id === 'ncp-cdss' ? cluster.username : provider.defaultUsername);
        if (id === 'ncp-cdss') expect(fromCloud.username).not.toBe('admin');
        expect(fromConfig.username).toBe('ops-user');
      } finally {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('reports a failed cluster as failed', async () => {
      cluster.lifecycle = 'failed';
      expect(await provider.status(target)).toMatchObject({ state: 'failed' });
    });

    it.each(faultCases(id))('fault $name → $kind', async (c) => {
      const pw = testPassword();
      cluster.pushFault(c.fault);
      const opts: CallOptions = c.timeoutMs ? { timeoutMs: c.timeoutMs } : {};
      const call = c.op === 'status' ? provider.status(target, opts) : provider.reset(target, pw, opts);
      const err = await failure(call);
      expect(err.kind).toBe(c.kind);
      expect(err.provider).toBe(id);
      expect(err.operation).toBe(c.op ?? 'reset');
      if (c.retryAfterMs !== undefined) expect(err.retryAfterMs).toBe(c.retryAfterMs);
      if (c.kind !== 'unknown-outcome' || c.fault.type === 'http') expect(err.status).toBeGreaterThan(0);
      expect(cluster.password).toBe(c.applied ? pw : initial);
      expect(cluster.pendingFaults).toEqual([]);
      expectNoSecret(err, pw, cluster.spec.secretKey);
    });

    it('N busy answers, then success', async () => {
      cluster.pushFault({ type: 'busy', times: 2 });
      const pw = testPassword();
      for (let i = 0; i < 2; i++) expect((await failure(provider.reset(target, pw))).kind).toBe('busy');
      await provider.reset(target, pw);
      expect(cluster.password).toBe(pw);
    });

    it('rejects a request signed with a clock skewed past the limit (auth), accepts one just within', async () => {
      const limit = id === 'ncp-cdss' ? 5 * 60_000 : 15 * 60_000;
      const skewed = createProvider(id, {
        fetch: http.http,
        clock: manualClock(START + limit + 60_000),
        timeoutMs: 5000,
      });
      const err = await failure(skewed.reset(target, testPassword()));
      expect(err.kind).toBe('auth');
      expect(err.status).toBe(401);
      if (id !== 'ncp-cdss') expect(err.vendorCode).toBe('APIGW.0303');
      expect(cluster.password).toBe(initial);
      const within = createProvider(id, {
        fetch: http.http,
        clock: manualClock(START - limit + 60_000),
        timeoutMs: 5000,
      });
      expect(await within.status(target)).toMatchObject({ state: 'ready' });
    });

    it('rejects a wrong secret key and an unknown access key (auth)', async () => {
      const wrongSk = { ...target, credentials: { ...target.credentials, secretKey: 'not-the-secret' } };
      const e1 = await failure(provider.reset(wrongSk, testPassword()));
      expect(e1).toMatchObject({ kind: 'auth', status: 401 });
      if (id !== 'ncp-cdss') expect(e1.vendorCode).toBe('APIGW.0301');
      const unknownAk = { ...target, credentials: { ...target.credentials, accessKey: 'AK-NOBODY' } };
      expect((await failure(provider.status(unknownAk))).kind).toBe('auth');
      expect(cluster.password).toBe(initial);
    });

    it('a cluster of another account looks like a missing one (not-found)', async () => {
      const other = sandbox.clusters.add(sandboxSpec(id, 2));
      const foreign = sandboxTarget(sandbox.url, other);
      const mixed = { ...target, config: { ...target.config, ...pickIds(foreign.config) } };
      expect((await failure(provider.reset(mixed, testPassword()))).kind).toBe('not-found');
      expect(other.password).toBe(other.history[0]);
    });

    it.each(REJECTED[id])('rejects $password as the cloud does ($code)', async ({ password, code }) => {
      const err = await failure(provider.reset(target, password));
      expect(err).toMatchObject({ kind: 'password-rejected', status: 400, vendorCode: code });
      expect(cluster.password).toBe(initial);
      expectNoSecret(err, password);
    });

    it('scrubs the password from a vendor message that echoes it', async () => {
      const pw = testPassword();
      const body =
        id === 'ncp-cdss'
          ? { code: 1001, message: `Invalid kafkaManagerUserPassword ${pw}` }
          : { errCode: 'CSS.0050', externalMessage: `CSS.0050 : invalid password ${pw}` };
      cluster.pushFault({ type: 'http', status: 400, body });
      const err = await failure(provider.reset(target, pw));
      expect(err.kind).toBe('password-rejected');
      expect(err.vendorMessage).toContain('[REDACTED]');
      expectNoSecret(err, pw);
    });

    it("honours the caller's AbortSignal", async () => {
      cluster.pushFault({ type: 'hang' });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('shutdown')), 100);
      const err = await failure(
        provider.reset(target, testPassword(), { signal: ac.signal, timeoutMs: 10_000 }),
      );
      expect(err.kind).toBe('unknown-outcome');
      expect(err.detail).toBe('aborted by the caller');
      const before = new AbortController();
      before.abort(new Error('already stopped'));
      await expect(provider.status(target, { signal: before.signal })).rejects.toThrow('already stopped');
    });
  },
);

const CSS_IDS = providerIds().filter((id) => id !== 'ncp-cdss');

describe.each(CSS_IDS.flatMap((id) => clients.map((c) => [id, c.name, c] as const)))(
  'provider contract, CSS answers: %s against the sandbox over %s',
  (id, _name, client) => {
    let sandbox: Sandbox;
    let clock: Clock & { advance(ms: number): void };
    let provider: Provider;
    let cluster: SandboxCluster;
    let target: ProviderTarget;
    let http: { http: HttpClient; close(): void };

    beforeEach(async () => {
      clock = manualClock(START);
      sandbox = await startSandbox({ clock, busyMs: BUSY_MS });
      cluster = sandbox.clusters.add(sandboxSpec(id));
      http = client.make();
      provider = createProvider(id, { fetch: http.http, clock, timeoutMs: 5000 });
      target = sandboxTarget(sandbox.url, cluster);
    });
    afterEach(async () => {
      http.close();
      await sandbox.close();
    });

    it('a 202 carrying CSS.0011 is busy and applies nothing; the next reset applies', async () => {
      const initial = cluster.password;
      cluster.pushFault({ type: 'busy202' });
      const pw = testPassword();
      const err = await failure(provider.reset(target, pw));
      expect(err).toMatchObject({ kind: 'busy', status: 202, vendorCode: 'CSS.0011' });
      expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(cluster.password).toBe(initial);
      expectNoSecret(err, pw);
      expect(await provider.reset(target, pw)).toMatchObject({ status: 200 });
      expect(cluster.password).toBe(pw);
      expect(sandbox.requests().map((e) => [e.operation, e.status, e.outcome])).toEqual([
        ['reset', 202, 'fault busy202 CSS.0011'],
        ['reset', 200, 'ok'],
      ]);
    });

    it('a rotation retries 202 CSS.0011 as busy and ends rotated with store == cloud', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'contract-busy202-'));
      const store = createFileStore({
        path: join(dir, 'store.json'),
        keyBytes: randomBytes(32),
        now: clock.now,
      });
      try {
        const initial = cluster.password;
        const secretId = target.config.secret.id;
        const seed = `seed-${'0'.repeat(40)}`;
        await store.stagePending(
          secretId,
          seed,
          JSON.stringify({ username: 'admin', password: initial, engine: id }),
        );
        await store.promote(secretId, seed);
        cluster.pushFault({ type: 'busy202', times: 2 });
        const request = {
          target,
          rotationId: 'busy202-rotation',
          policy: provider.policy,
          timing: rotationTimingSchema.parse({}),
        };
        const retry = retrySchema.parse({});
        const errors: RotationError[] = [];
        let done = false;
        for (let run = 1; run <= 5 && !done; run++) {
          try {
            await rotate(request, { provider, store, clock, generatePassword });
            done = true;
          } catch (err) {
            if (!isRotationError(err)) throw err;
            errors.push(err);
            const d = decideRetry({
              error: err,
              counters: { failures: run - 1, busyMs: 0 },
              retry,
              busyBudget: 7_200_000,
              draw: 1 - 2 ** -52, // the longest wait of the range
            });
            // retried as busy (with backoff), not stopped
            expect(d.action).toBe('retry');
            if (d.action === 'retry') clock.advance(d.delayMs);
          }
        }
        expect(errors.map((e) => [e.kind, e.httpStatus, e.vendorCode])).toEqual([
          ['busy', 202, 'CSS.0011'],
          ['busy', 202, 'CSS.0011'],
        ]);
        expect(done).toBe(true);
        const current = await store.getCurrent(secretId);
        const password = readPassword(current!.text, 'json');
        expect(password).not.toBe(initial);
        expect(password).toBe(cluster.password);
        expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, password)).toBe(200);
        expect(cluster.resetsApplied).toBe(1);
        expect(await store.getPending(secretId)).toBeUndefined();
      } finally {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('reports securityMode false for a cluster without security mode (authorityEnable: false)', async () => {
      const plain = sandbox.clusters.add(sandboxSpec(id, 2, { authorityEnable: false }));
      const status = await provider.status(sandboxTarget(sandbox.url, plain));
      expect(status).toMatchObject({ state: 'ready', securityMode: false });
    });

    it('CSS.0045 (bad token) is auth; a 2xx status answer carrying an error code is that error', async () => {
      cluster.pushFault({
        type: 'http',
        status: 401,
        body: { errCode: 'CSS.0045', externalMessage: 'CSS.0045 : Invalid token.' },
      });
      expect(await failure(provider.reset(target, testPassword()))).toMatchObject({
        kind: 'auth',
        vendorCode: 'CSS.0045',
      });
      cluster.pushFault({
        type: 'http',
        status: 200,
        op: 'status',
        body: { errCode: 'CSS.0015', externalMessage: 'CSS.0015 : No resources are found.' },
      });
      expect(await failure(provider.status(target))).toMatchObject({
        kind: 'not-found',
        status: 200,
        vendorCode: 'CSS.0015',
        operation: 'status',
      });
    });
  },
);

describe.each(clients.map((c) => [c.name, c] as const))(
  'provider contract, NCP gateway answers: ncp-cdss against the sandbox over %s',
  (_name, client) => {
    let sandbox: Sandbox;
    let provider: Provider;
    let cluster: SandboxCluster;
    let http: { http: HttpClient; close(): void };

    beforeEach(async () => {
      const clock = manualClock(START);
      sandbox = await startSandbox({ clock, busyMs: BUSY_MS, retiredNcpApis: ['resetCMAKPassword'] });
      cluster = sandbox.clusters.add(sandboxSpec('ncp-cdss'));
      http = client.make();
      provider = createProvider('ncp-cdss', { fetch: http.http, clock, timeoutMs: 5000 });
    });
    afterEach(async () => {
      http.close();
      await sandbox.close();
    });

    function expectUnknownRoute(err: ProviderError, operation: 'reset' | 'status'): void {
      // a config error with the hint, never retried, never "the cluster does not exist"
      expect(err).toMatchObject({ kind: 'bad-request', status: 404, vendorCode: '300', operation });
      expect(err.detail).toBe(UNKNOWN_ROUTE_DETAIL);
      expect(err.message).toContain('config error: unknown route');
      expect(err.message).not.toMatch(/does not exist/);
    }

    it('a wrong region prefix is answered by the gateway (404, errorCode 300): a config error', async () => {
      const initial = cluster.password;
      const wrong = sandboxTarget(sandbox.url, cluster, { config: { endpoint: `${sandbox.url}/api/xx-v1` } });
      expectUnknownRoute(await failure(provider.status(wrong)), 'status');
      expectUnknownRoute(await failure(provider.reset(wrong, testPassword())), 'reset');
      expect(cluster.password).toBe(initial);
      expect(sandbox.requests().map((e) => [e.status, e.outcome])).toEqual([
        [404, 'no such api (gateway 300)'],
        [404, 'no such api (gateway 300)'],
      ]);
    });

    it('a retired reset path is a config error; the current one works', async () => {
      const initial = cluster.password;
      const retired = sandboxTarget(sandbox.url, cluster, { config: { resetApi: 'resetCMAKPassword' } });
      expectUnknownRoute(await failure(provider.reset(retired, testPassword())), 'reset');
      expect(cluster.password).toBe(initial);
      const pw = testPassword();
      await provider.reset(sandboxTarget(sandbox.url, cluster), pw);
      expect(cluster.password).toBe(pw);
    });

    it('a missing cluster behind a known route is still not-found', async () => {
      const gone = sandboxTarget(sandbox.url, cluster, { config: { serviceGroupInstanceNo: '999999' } });
      const err = await failure(provider.status(gone));
      expect(err).toMatchObject({ kind: 'not-found', status: 404 });
      expect(err.detail).toBeUndefined();
    });
  },
);

function pickIds(c: ProviderTarget['config']): Partial<ProviderTarget['config']> {
  return c.provider === 'ncp-cdss'
    ? { serviceGroupInstanceNo: c.serviceGroupInstanceNo }
    : { projectId: c.projectId, clusterId: c.clusterId };
}
