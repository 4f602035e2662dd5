import { describe, expect, it } from 'vitest';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { decideRetry } from '../../src/rotation/retry-decision.js';
import { rotate } from '../../src/rotation/rotate.js';
import { isRotationError } from '../../src/rotation/rotation-error.js';
import { MemoryStore } from '../support/memory-store.js';
import { ScriptedCluster, TEST_POLICY } from '../support/scripted-provider.js';
import { INITIAL_PASSWORD, SECRET_ID, makeTarget } from './harness.js';
import { passwordIn } from '../support/secret-text.js';

const value = (password: string): string =>
  JSON.stringify({ username: 'admin', password, engine: 'otc-css' });

/**
 * Promote is refused because another writer moved the labels after this run staged. The run never
 * retries it blindly: it finds out which password the cluster holds and makes the store say so,
 * or asks for a fresh rotation, and says what it did.
 */
const OTHER = 'Other-Writer-Pw-1!';
const OTHER_VERSION = '11111111-other-0000-0000-000000000000';

function setup(opts: {
  login: boolean;
  before: (s: MemoryStore, c: ScriptedCluster) => Promise<void> | void;
}) {
  const clock = manualClock();
  const cluster = new ScriptedCluster({
    clock,
    password: INITIAL_PASSWORD,
    busyAfterResetMs: 1_000,
    applyDelayMs: 0,
  });
  const store = new MemoryStore(() => clock.now());
  store.seed(SECRET_ID, '00000000-seed-0000-0000-000000000000', value(INITIAL_PASSWORD));
  let fired = false;
  store.intercept = async (op, phase) => {
    if (op === 'promote' && phase === 'before' && !fired) {
      fired = true;
      await opts.before(store, cluster);
    }
  };
  const run = () =>
    rotate(
      {
        target: makeTarget(),
        rotationId: 'job-1',
        policy: TEST_POLICY,
        timing: rotationTimingSchema.parse({}),
      },
      {
        provider: cluster.provider(),
        store,
        clock,
        generatePassword: () => 'Generated-Pw-0001!',
        ...(opts.login ? { loginCheck: async (p: string) => cluster.login(p) } : {}),
      },
    );
  return { store, cluster, run, value };
}

describe('a promote that another writer got in the way of', () => {
  it('with a login, the cluster still holding ours: ours is promoted over the other version', async () => {
    const t = setup({
      login: true,
      // Someone made another version current by hand; the cluster kept our password.
      before: (store) => store.seed(SECRET_ID, OTHER_VERSION, value(OTHER)),
    });
    const result = await t.run();
    expect(result.conflict?.resolution).toBe('promoted');
    expect(result.conflict?.detail).toMatch(
      /the cluster accepts this run's password: promoted it over version/,
    );
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSCURRENT') ?? '')).toBe('Generated-Pw-0001!');
    expect(t.cluster.currentPassword()).toBe('Generated-Pw-0001!');
    expect(t.store.peek(SECRET_ID, 'AWSPENDING')).toBeUndefined();
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSPREVIOUS') ?? '')).toBe(OTHER);
  });

  it("with a login, the cluster holding the other writer's password: the store already agrees", async () => {
    const t = setup({
      login: true,
      // Another writer reset the cluster and made its version current.
      before: async (store, cluster) => {
        await cluster.provider().reset(makeTarget(), OTHER);
        store.seed(SECRET_ID, OTHER_VERSION, value(OTHER));
      },
    });
    const result = await t.run();
    expect(result.conflict?.resolution).toBe('store-matches');
    expect(result.conflict?.detail).toMatch(/the cluster accepts the store's current version/);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSCURRENT') ?? '')).toBe(OTHER);
    expect(t.cluster.currentPassword()).toBe(OTHER);
  });

  it('without a login it cannot tell: it stops as conflict asking for a fresh rotation, which the worker never retries blindly', async () => {
    const t = setup({
      login: false,
      before: (store) => store.seed(SECRET_ID, OTHER_VERSION, value(OTHER)),
    });
    const err = await t.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isRotationError(err)) throw new Error('expected a RotationError');
    expect(err.kind).toBe('conflict');
    expect(err.step).toBe('promote');
    expect(err.conflictResolution).toBe('fresh-rotation');
    expect(err.detail).toMatch(/a fresh rotation re-applies the store's pending value/);
    // Our pending version is kept (the cloud holds it): nothing is dropped.
    expect(err.pendingMayBeApplied).toBe(true);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSPENDING') ?? '')).toBe('Generated-Pw-0001!');
    // The decision table never retries a conflict as such.
    const d = decideRetry({
      error: err,
      counters: { failures: 0, busyMs: 0 },
      retry: { attempts: 5, initialDelay: 1_000, maxDelay: 60_000 },
      busyBudget: 60_000,
      draw: 0.5,
    });
    expect(d.action).toBe('stop');
  });

  it('another writer adopted our pending password and promoted it: store and cluster agree, said so', async () => {
    const t = setup({
      login: false,
      before: async (store) => {
        const ours = store.versions(SECRET_ID).find((v) => v.stages.includes('AWSPENDING'))!;
        await store.stagePending(SECRET_ID, OTHER_VERSION, ours.text, { expectPending: ours.versionId });
        await store.promote(SECRET_ID, OTHER_VERSION);
      },
    });
    const result = await t.run();
    expect(result.conflict?.resolution).toBe('store-matches');
    expect(result.conflict?.detail).toMatch(/another writer promoted the same password/);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSCURRENT') ?? '')).toBe('Generated-Pw-0001!');
    expect(t.cluster.currentPassword()).toBe('Generated-Pw-0001!');
  });
});
