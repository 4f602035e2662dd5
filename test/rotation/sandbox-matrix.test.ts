import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { generatePassword } from '../../src/policy/generate.js';
import { createProvider } from '../../src/providers/registry.js';
import type { Provider } from '../../src/providers/types.js';
import { rotate } from '../../src/rotation/rotate.js';
import { isRotationError } from '../../src/rotation/rotation-error.js';
import type { RotationError } from '../../src/rotation/rotation-error.js';
import { versionToken } from '../../src/rotation/token.js';
import type { RotationDeps, RotationStep, StepEvent } from '../../src/rotation/types.js';
import { startSandbox, sandboxTarget } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxCluster, SandboxFault } from '../../src/sandbox/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { createStore } from '../../src/secrets/index.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { dataPlaneLogin, sandboxSpec } from '../support/sandbox.js';
import { startSecretsManagerEndpoint } from '../support/secrets-manager/endpoint.js';
import { errorTexts, expectNoPasswords } from './harness.js';
import { passwordIn, passwordOf } from '../support/secret-text.js';

/**
 * The interruption matrix again, with real parts: the real otc-css provider signing real HTTP
 * requests to the sandbox cluster, the sandbox's own faults (409, 429, 4xx, 5xx, a reset applied and
 * then the socket destroyed, malformed JSON, a hang), the real encrypted file store, the real
 * password generator, and the sandbox's data-plane login as the verify step. Process faults (crash,
 * abort, kill) hit wrappers around the store, the provider and onStep.
 */

type ProcessFault = 'crash' | 'abort' | 'kill';
type WrapSite =
  | 'store.stagePending:before'
  | 'store.stagePending:after'
  | 'store.promote:before'
  | 'store.promote:after'
  | 'provider.reset:before'
  | 'provider.reset:after'
  | 'provider.status:before'
  | `onStep:${RotationStep}`;

type Case =
  | { name: string; loginCheck: boolean; sandbox: SandboxFault[] }
  | { name: string; loginCheck: boolean; site: WrapSite; fault: ProcessFault };

const SANDBOX_FAULTS: [string, SandboxFault[]][] = [
  ['reset 409 busy', [{ type: 'busy' }]],
  ['reset 429 throttled', [{ type: 'throttle', retryAfter: '3' }]],
  ['reset 400', [{ type: 'http', status: 400 }]],
  ['reset 401', [{ type: 'http', status: 401 }]],
  ['reset 403', [{ type: 'http', status: 403 }]],
  ['reset 404', [{ type: 'http', status: 404 }]],
  ['reset 412', [{ type: 'http', status: 412 }]],
  ['reset 500', [{ type: 'http', status: 500 }]],
  ['reset 503', [{ type: 'http', status: 503 }]],
  ['reset applied then socket destroyed', [{ type: 'drop-after-apply' }]],
  ['reset malformed JSON', [{ type: 'malformed-json' }]],
  ['reset hangs', [{ type: 'hang' }]],
  ['status 500', [{ type: 'http', status: 500, op: 'status' }]],
  ['status 401', [{ type: 'http', status: 401, op: 'status' }]],
  ['status 429', [{ type: 'throttle', retryAfter: '2', op: 'status' }]],
  ['status malformed JSON', [{ type: 'malformed-json', op: 'status' }]],
  [
    'reset applied then dropped, re-run answered 409 then 400',
    [{ type: 'drop-after-apply' }, { type: 'busy' }],
  ],
];

const WRAP_SITES: WrapSite[] = [
  'store.stagePending:before',
  'store.stagePending:after',
  'onStep:stage',
  'provider.status:before',
  'onStep:ready',
  'provider.reset:before',
  'provider.reset:after',
  'onStep:apply',
  'onStep:settle',
  'onStep:verify',
  'store.promote:before',
  'store.promote:after',
  'onStep:promote',
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const loginCheck of [true, false]) {
    const mode = loginCheck ? 'login' : 'no login';
    for (const [name, sandbox] of SANDBOX_FAULTS) out.push({ name: `${mode}: ${name}`, loginCheck, sandbox });
    for (const site of WRAP_SITES) {
      for (const fault of ['crash', 'abort', 'kill'] as const) {
        out.push({ name: `${mode}: ${site} ${fault}`, loginCheck, site, fault });
      }
    }
  }
  return out;
}

/** What the store holds before the first rotation, given the cluster's password. */
const SEED_SHAPES: { format: 'json' | 'text'; seed: (password: string) => string }[] = [
  { format: 'json', seed: (password) => JSON.stringify({ username: 'admin', password, engine: 'otc-css' }) },
  {
    format: 'json',
    seed: (password) =>
      `{\n  "password": ${JSON.stringify(password)},\n  "port": 9200,\n  "tls": { "verify": true },\n  "tags": ["a", 1]\n}`,
  },
  { format: 'text', seed: (password) => password },
];

const MAX_RUNS = 6;
let sandbox: Sandbox;
let dir: string;
const clock = manualClock(Date.now());

beforeAll(async () => {
  sandbox = await startSandbox({ clock, busyMs: 90_000 });
  dir = await mkdtemp(join(tmpdir(), 'rotation-sandbox-matrix-'));
});

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;

describe('interruption matrix against the sandbox and the file store', () => {
  it.each(cases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    n += 1;
    const cluster = sandbox.clusters.add(sandboxSpec('otc-css', n));
    const initial = cluster.password;
    // The cases take turns at the secret shapes users already have (issue 11).
    const shape = SEED_SHAPES[n % SEED_SHAPES.length]!;
    const base = sandboxTarget(sandbox.url, cluster);
    const target = {
      ...base,
      config: { ...base.config, secret: { ...base.config.secret, format: shape.format } },
    };
    const secretId = target.config.secret.id;
    const store = createFileStore({
      path: join(dir, `store-${n}.json`),
      keyBytes: randomBytes(32),
      now: clock.now,
    });
    const seed = shape.seed(initial);
    await store.stagePending(secretId, `seed-${'0'.repeat(40)}`, seed);
    await store.promote(secretId, `seed-${'0'.repeat(40)}`);
    const provider = createProvider('otc-css', { fetch: globalThis.fetch, clock, timeoutMs: 400 });
    // A short per-call timeout so the hanging reset times out (real time) quickly.
    const timing = rotationTimingSchema.parse({ requestTimeout: '500ms' });
    const request = { target, rotationId: `job-${n}`, policy: provider.policy, timing };
    if ('sandbox' in c) cluster.pushFault(...c.sandbox);

    const generated: string[] = [];
    const events: StepEvent[] = [];
    const errors: RotationError[] = [];
    let armed = 'site' in c;
    let finished = false;

    for (let run = 0; run < MAX_RUNS && !finished; run++) {
      const controller = new AbortController();
      let kill: () => void = () => undefined;
      const killed = new Promise<'killed'>((resolve) => (kill = () => resolve('killed')));
      const fire = async (site: WrapSite, password?: string): Promise<void> => {
        if (!armed || !('site' in c) || c.site !== site) return;
        armed = false;
        if (c.fault === 'kill') {
          kill();
          await new Promise(() => undefined);
        }
        if (c.fault === 'abort') {
          controller.abort(new Error('worker shutting down'));
          if (!site.startsWith('onStep:')) throw controller.signal.reason;
          return;
        }
        throw new Error(`simulated crash${password ? ` holding ${password}` : ''}`);
      };
      const deps: RotationDeps = {
        provider: wrapProvider(provider, fire),
        store: wrapStore(store, fire),
        clock,
        signal: controller.signal,
        generatePassword: (policy) => {
          const p = generatePassword(policy);
          generated.push(p);
          return p;
        },
        onStep: async (e) => {
          events.push(e);
          if (e.outcome !== 'failed') await fire(`onStep:${e.step}`);
        },
      };
      if (c.loginCheck) {
        deps.loginCheck = async (pw) =>
          (await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, pw)) === 200;
      }
      const outcome = await Promise.race([
        rotate(request, deps).then(
          () => 'ok' as const,
          (err: unknown) => {
            if (!isRotationError(err)) throw err;
            return err;
          },
        ),
        killed,
      ]);
      if (outcome === 'ok') finished = true;
      else if (outcome !== 'killed') {
        errors.push(outcome);
        await checkAfterError(store, secretId, cluster, outcome);
      }
      clock.advance(1_000);
    }

    expect(finished, `errors: ${errors.map((e) => e.kind).join(', ')}`).toBe(true);
    const current = await store.getCurrent(secretId);
    expect(passwordOf(current)).not.toBe(initial);
    expect(passwordOf(current)).toBe(cluster.password);
    expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, passwordOf(current)!)).toBe(200);
    expect((await store.getPrevious(secretId))?.text).toBe(seed);
    if (shape.format === 'json') {
      // Every other field kept, in value and type.
      const before = JSON.parse(seed) as Record<string, unknown>;
      const after = JSON.parse(current!.text) as Record<string, unknown>;
      for (const [field, v] of Object.entries(before))
        if (field !== 'password') expect(after[field]).toStrictEqual(v);
    } else {
      expect(current?.text).toBe(cluster.password);
    }
    // The same rotation finished: the generation after the passwords the cloud rejected.
    const generation = errors.filter((e) => e.kind === 'password-rejected' && !e.pendingMayBeApplied).length;
    expect(current?.versionId).toBe(
      versionToken({ targetId: target.config.id, rotationId: request.rotationId, generation }),
    );
    expect(await store.getPending(secretId)).toBeUndefined();
    // The cluster only ever got one new password, however often it was re-applied.
    expect(new Set(cluster.history.slice(1))).toEqual(new Set([passwordOf(current)!]));
    expectNoPasswords([initial, ...generated], { events, errors: errors.map((e) => errorTexts(e)) });
    await store.close();
  });
});

describe('AWS store: promote stops between its label updates', () => {
  // Promote over a confirmed current makes two label updates; fail the first, then the second.
  const promoteCases = [true, false].flatMap((loginCheck) =>
    [0, 1].map((after) => ({
      loginCheck,
      after,
      name: `${loginCheck ? 'login' : 'no login'}, update ${after + 1} fails`,
    })),
  );
  it.each(promoteCases.map((c) => [c.name, c] as const))(
    '%s, the re-run answered 403: the store ends current with the password the cluster accepts',
    async (_name, c) => {
      n += 1;
      const sm = await startSecretsManagerEndpoint();
      const cluster = sandbox.clusters.add(sandboxSpec('otc-css', n));
      const initial = cluster.password;
      const target = sandboxTarget(sandbox.url, cluster);
      const secretId = target.config.secret.id;
      const store = createStore(
        { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
        { awsClientConfig: sm.clientConfig() },
      );
      try {
        // Two seed versions: the secret has a confirmed current and no first-version quirks.
        for (const seed of [`seed-${'0'.repeat(40)}`, `seed-${'1'.repeat(40)}`]) {
          await store.stagePending(
            secretId,
            seed,
            JSON.stringify({
              username: 'admin',
              password: initial,
              engine: 'otc-css',
            }),
          );
          await store.promote(secretId, seed);
        }
        const provider = createProvider('otc-css', { fetch: globalThis.fetch, clock, timeoutMs: 2000 });
        const timing = rotationTimingSchema.parse({});
        const request = { target, rotationId: `job-${n}`, policy: provider.policy, timing };
        const generated: string[] = [];
        const events: StepEvent[] = [];
        const errors: RotationError[] = [];
        const deps: RotationDeps = {
          provider,
          store,
          clock,
          generatePassword: (policy) => {
            const p = generatePassword(policy);
            generated.push(p);
            return p;
          },
          onStep: (e) => {
            events.push(e);
            // Promote is next: its label update number `after + 1` fails (a 5xx, a crash).
            if (e.step === 'verify' && e.outcome !== 'failed' && errors.length === 0) {
              sm.fail({
                operation: 'UpdateSecretVersionStage',
                after: c.after,
                status: 500,
                type: 'InternalServiceError',
              });
            }
          },
        };
        if (c.loginCheck) {
          deps.loginCheck = async (pw) =>
            (await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, pw)) === 200;
        }
        let finished = false;
        for (let run = 0; run < 4 && !finished; run++) {
          // The retry after the failed promote meets a cloud that refuses every reset (403).
          if (run === 1) cluster.pushFault({ type: 'http', status: 403 });
          const outcome = await rotate(request, deps).then(
            () => 'ok' as const,
            (err: unknown) => {
              if (!isRotationError(err)) throw err;
              return err;
            },
          );
          if (outcome === 'ok') finished = true;
          else {
            errors.push(outcome);
            await checkAfterError(store, secretId, cluster, outcome);
          }
          clock.advance(1_000);
        }
        expect(errors[0]?.step).toBe('promote');
        expect(finished, `errors: ${errors.map((e) => e.kind).join(', ')}`).toBe(true);
        expect(generated).toHaveLength(1);
        expect(cluster.password).toBe(generated[0]);
        const current = await store.getCurrent(secretId);
        expect(passwordOf(current)).toBe(cluster.password);
        expect(await dataPlaneLogin(cluster.dataPlaneUrl, cluster.username, passwordOf(current)!)).toBe(200);
        expect(current?.versionId).toBe(
          versionToken({ targetId: target.config.id, rotationId: request.rotationId, generation: 0 }),
        );
        expect(passwordOf(await store.getPrevious(secretId))).toBe(initial);
        expect(await store.getPending(secretId)).toBeUndefined();
        expectNoPasswords([initial, ...generated], { events, errors: errors.map((e) => errorTexts(e)) });
      } finally {
        await store.close();
        await sm.close();
      }
    },
  );
});

async function checkAfterError(
  store: SecretStore,
  secretId: string,
  cluster: SandboxCluster,
  error: RotationError,
): Promise<void> {
  const current = await store.getCurrent(secretId);
  if (passwordOf(current) === cluster.password) return;
  const pending = await store.getPending(secretId);
  expect(passwordOf(pending), 'the password the cluster holds is pending in the store').toBe(
    cluster.password,
  );
  if (error.storeStateKnown) expect(error.pendingMayBeApplied, error.message).toBe(true);
}

type Fire = (site: WrapSite, password?: string) => Promise<void>;

function wrapProvider(p: Provider, fire: Fire): Provider {
  return {
    id: p.id,
    policy: p.policy,
    defaultUsername: p.defaultUsername,
    baseUrl: (t) => p.baseUrl(t),
    validateTarget: (t) => p.validateTarget(t),
    reset: async (target, password, opts) => {
      await fire('provider.reset:before', password);
      const r = await p.reset(target, password, opts);
      await fire('provider.reset:after', password);
      return r;
    },
    status: async (target, opts) => {
      await fire('provider.status:before');
      return p.status(target, opts);
    },
  };
}

function wrapStore(s: SecretStore, fire: Fire): SecretStore {
  return {
    type: s.type,
    stagePending: async (id, token, value, opts) => {
      await fire('store.stagePending:before', passwordIn(value));
      const r = await s.stagePending(id, token, value, opts);
      await fire('store.stagePending:after', passwordIn(value));
      return r;
    },
    getVersion: (id, v) => s.getVersion(id, v),
    getCurrent: (id) => s.getCurrent(id),
    getPrevious: (id) => s.getPrevious(id),
    getPending: (id) => s.getPending(id),
    promote: async (id, v) => {
      await fire('store.promote:before');
      await s.promote(id, v);
      await fire('store.promote:after');
    },
    dropPending: (id, v) => s.dropPending(id, v),
    describe: (id) => s.describe(id),
    ping: (id) => s.ping(id),
    close: () => s.close(),
  };
}
