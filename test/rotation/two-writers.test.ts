import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { decideRetry } from '../../src/rotation/retry-decision.js';
import { rotate } from '../../src/rotation/rotate.js';
import { isRotationError, type RotationError } from '../../src/rotation/rotation-error.js';
import type { RotationResult } from '../../src/rotation/types.js';
import { createStore } from '../../src/secrets/index.js';
import type { SecretStore } from '../../src/secrets/types.js';
import {
  startSecretsManagerEndpoint,
  type SecretsManagerEndpoint,
} from '../support/secrets-manager/endpoint.js';
import { ScriptedCluster, TEST_POLICY } from '../support/scripted-provider.js';
import { INITIAL_PASSWORD, SECRET_ID, makeTarget } from './harness.js';
import { passwordIn, passwordOf } from '../support/secret-text.js';

/**
 * Two runs of ONE target with different job ids (what a dashboard "retry", a job added by hand or a
 * second deployment on another Redis starts), interleaved deterministically at every pair of step
 * boundaries, on the real file store and on the AWS store against the loopback Secrets Manager.
 * The only lock between them is the store's compare-and-set (no lease: one Redis cannot see the
 * other deployment's). Run A stops after step X; run B runs up to after step Y (or to its end);
 * A finishes; B finishes.
 *
 * Must hold: the store never ends with a current password the cluster does not hold unless a run
 * ended in a way that alerts; the password the cluster holds is always somewhere in the store; and
 * one more rotation (what the pending sweep or a conflict's fresh round starts) leaves store and
 * cluster agreeing with no pending version left.
 */

const ORPHAN_MS = 60_000;

type Outcome = { ok: true; result: RotationResult } | { ok: false; error: RotationError };

let sm: SecretsManagerEndpoint;
let serviceNow: () => number = Date.now;
let dir: string;
/** One AWS store (one SDK client, kept-alive connections) for every case: each has its own secret. */
let aws: SecretStore;
beforeAll(async () => {
  sm = await startSecretsManagerEndpoint({ now: () => serviceNow() });
  aws = createStore(
    { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
    { awsClientConfig: sm.clientConfig() },
  );
  dir = await mkdtemp(join(tmpdir(), 'rotator-two-writers-'));
});
afterAll(async () => {
  await aws.close();
  await sm.close();
  await rm(dir, { recursive: true, force: true });
});

interface Case {
  storeKind: 'file' | 'aws';
  login: boolean;
  /** 0: another writer's pending version is adopted at once (as when it is orphaned). */
  orphanMs: number;
  /** Which run advances to its next checkpoint, in turn (four each). */
  schedule: string;
}

// Where a run stops until it is told to go on: inside stage between its reads and its write, after
// apply, and inside promote before its write (after settle and verify): four segments per run, end
// included. "After stage" is the same point as "before apply" for another run: nothing between
// them writes anywhere.

/** A run of rotate() that advances one segment at a time. */
class Stepper {
  private resume: (() => void) | undefined;
  private parked: (() => void) | undefined;
  private started: Promise<void> | undefined;
  outcome: Outcome | undefined;

  constructor(private readonly start: (checkpoint: () => Promise<void>) => Promise<Outcome>) {}

  private readonly checkpoint = () =>
    new Promise<void>((resume) => {
      this.resume = resume;
      this.parked?.();
    });

  /** Lets the run go on to its next checkpoint, or to its end. */
  async advance(): Promise<void> {
    if (this.outcome) return;
    const parked = new Promise<void>((r) => (this.parked = r));
    if (!this.started) {
      this.started = this.start(this.checkpoint).then((o) => {
        this.outcome = o;
        this.parked?.();
      });
    } else {
      const resume = this.resume;
      this.resume = undefined;
      resume?.();
    }
    await parked;
  }
}

async function runCase(c: Case) {
  const clock = manualClock();
  serviceNow = () => clock.now();
  const cluster = new ScriptedCluster({
    clock,
    password: INITIAL_PASSWORD,
    busyAfterResetMs: 2_000,
    applyDelayMs: 500,
  });
  const secretId = `${SECRET_ID}-${randomUUID().slice(0, 8)}`;
  const store: SecretStore =
    c.storeKind === 'file'
      ? createStore(
          { type: 'file', path: join(dir, `${randomUUID()}.enc`) },
          { now: () => clock.now(), lockTimeoutMs: 5_000 },
        )
      : aws;
  const seed = randomUUID();
  await store.stagePending(
    secretId,
    seed,
    JSON.stringify({ username: 'admin', password: INITIAL_PASSWORD, engine: 'otc-css' }),
  );
  await store.promote(secretId, seed);

  const base = makeTarget();
  const target = { ...base, config: { ...base.config, secret: { ...base.config.secret, id: secretId } } };
  const timing = { ...rotationTimingSchema.parse({}), pollInterval: 1_000, maxPasswordRejections: 3 };
  let n = 0;
  const run = (rotationId: string, checkpoint?: (name: string) => Promise<void>) => {
    const at = async (name: string) => {
      if (checkpoint) await checkpoint(name);
    };
    let staged = false;
    const paused: SecretStore = {
      ...store,
      type: store.type,
      getVersion: (...a) => store.getVersion(...a),
      getCurrent: (...a) => store.getCurrent(...a),
      getPrevious: (...a) => store.getPrevious(...a),
      getPending: (...a) => store.getPending(...a),
      describe: (...a) => store.describe(...a),
      dropPending: (...a) => store.dropPending(...a),
      ping: (secretId) => store.ping(secretId),
      close: async () => undefined,
      stagePending: async (...a) => {
        if (!staged) {
          staged = true;
          await at('stage-write');
        }
        return store.stagePending(...a);
      },
      promote: async (...a) => {
        await at('promote-write');
        return store.promote(...a);
      },
    };
    let skippedStageWrite = false;
    return rotate(
      { target, rotationId, policy: TEST_POLICY, timing },
      {
        provider: cluster.provider(),
        store: paused,
        clock,
        generatePassword: () => `Gen-${rotationId}-${++n}-Aa1!xyz`,
        pendingOrphanAfterMs: c.orphanMs,
        ...(c.login ? { loginCheck: async (p: string) => cluster.login(p) } : {}),
        onStep: async (e) => {
          // A run that reuses a version writes nothing in stage: its stage-write checkpoint is here.
          if (e.step === 'stage' && !staged && !skippedStageWrite) {
            skippedStageWrite = true;
            await at('stage-write');
          }
          if (e.step === 'apply') await at(e.step);
        },
      },
    ).then(
      (result): Outcome => ({ ok: true, result }),
      (error: unknown): Outcome => {
        if (!isRotationError(error)) throw error;
        return { ok: false, error };
      },
    );
  };

  const runners = { A: new Stepper((cp) => run('job-A', cp)), B: new Stepper((cp) => run('job-B', cp)) };
  for (const who of c.schedule) await runners[who as 'A' | 'B'].advance();
  // Finish whatever is left (a schedule gives each run four turns, but be sure).
  for (let i = 0; i < 10; i++) {
    await runners.A.advance();
    await runners.B.advance();
  }
  let outA = runners.A.outcome!;
  let outB = runners.B.outcome!;
  // A retryable failure runs again with the same rotation id, as the worker retries it.
  if (!outA.ok && !alerts(outA.error)) outA = await run('job-A');
  if (!outB.ok && !alerts(outB.error)) outB = await run('job-B');

  clock.advance(10_000);
  const cloud = cluster.currentPassword();
  const current = await store.getCurrent(secretId);
  const alerted = [outA, outB].some((o) => !o.ok && alerts(o.error));
  const conflicts = [outA, outB].filter((o) => o.ok && o.result.conflict).length;

  // The password the cluster holds is kept somewhere in the store.
  const versions = (await store.describe(secretId)) ?? [];
  const values = await Promise.all(versions.map((v) => store.getVersion(secretId, v.versionId)));
  const kept = values.some((v) => v !== undefined && passwordIn(v.text) === cloud);

  // One more rotation, later (the sweep, or the fresh round a conflict asks for).
  clock.advance(ORPHAN_MS + 1_000);
  const finish = await run('job-C');
  clock.advance(10_000);
  const after = {
    current: passwordOf(await store.getCurrent(secretId)),
    pending: await store.getPending(secretId),
    cloud: cluster.currentPassword(),
  };
  if (store !== aws) await store.close();
  return { outA, outB, cloud, current: passwordOf(current), alerted, conflicts, kept, finish, after };
}

/** Whether the worker alerts for this failure (the retry decision, or a conflict, or a pending left). */
function alerts(e: RotationError): boolean {
  if (e.kind === 'conflict' || e.pendingMayBeApplied) return true;
  const d = decideRetry({
    error: e,
    counters: { failures: 0, busyMs: 0 },
    retry: { attempts: 5, initialDelay: 1_000, maxDelay: 60_000 },
    busyBudget: 7_200_000,
    draw: 0.5,
  });
  return d.action === 'stop' || d.alert !== undefined;
}

/** Every order of four turns of A and four of B (70). */
function schedules(a = 4, b = 4, prefix = ''): string[] {
  if (a === 0 && b === 0) return [prefix];
  return [
    ...(a > 0 ? schedules(a - 1, b, `${prefix}A`) : []),
    ...(b > 0 ? schedules(a, b - 1, `${prefix}B`) : []),
  ];
}

const cases: Case[] = [];
for (const storeKind of ['file', 'aws'] as const) {
  // With a login the run can ask the cluster; without one it cannot. A young pending version makes
  // the other run busy; an orphaned one is adopted at once (as across deployments after the lease
  // time). The other two mixes add nothing the store's compare-and-set does not already decide.
  for (const [login, orphanMs] of [
    [true, ORPHAN_MS],
    [false, 0],
  ] as const) {
    for (const schedule of schedules()) cases.push({ storeKind, login, orphanMs, schedule });
  }
}

describe('two runs of one target interleaved at every step boundary', () => {
  const tally = { agreed: 0, alerted: 0, busy: 0, conflicts: 0 };
  afterAll(() => {
    // For the record (not asserted): how the pairs ended.
    console.log(`two writers: ${cases.length} interleavings`, tally);
  });

  it.each(
    cases.map(
      (c) =>
        [
          `${c.storeKind} ${c.login ? 'login' : 'no-login'} ${c.orphanMs ? 'young' : 'orphaned'} ${c.schedule}`,
          c,
        ] as const,
    ),
  )(
    '%s',
    async (_name, c) => {
      const r = await runCase(c);
      if (r.current !== r.cloud) {
        expect(
          r.alerted,
          `store ${r.current === undefined ? 'has no current' : 'current'} ≠ cloud without an alert`,
        ).toBe(true);
        tally.alerted++;
      } else tally.agreed++;
      expect(r.kept, 'the password the cluster holds is in the store').toBe(true);
      for (const o of [r.outA, r.outB]) if (!o.ok && o.error.kind === 'busy') tally.busy++;
      tally.conflicts += r.conflicts;
      // Never a silent conflict: a run that met another writer at promote says so.
      for (const o of [r.outA, r.outB]) {
        if (o.ok && o.result.conflict) expect(o.result.conflict.detail.length).toBeGreaterThan(0);
      }
      expect(r.finish.ok, r.finish.ok ? '' : r.finish.error.message).toBe(true);
      expect(r.after.current).toBe(r.after.cloud);
      expect(r.after.pending).toBeUndefined();
    },
    30_000,
  );
});
