import { describe, expect, it } from 'vitest';
import { fenceProvider, fenceStore } from '../../jobs/fence.js';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { rotate } from '../../src/rotation/rotate.js';
import { isRotationError } from '../../src/rotation/rotation-error.js';
import { MemoryStore } from '../support/memory-store.js';
import { ScriptedCluster, TEST_POLICY } from '../support/scripted-provider.js';
import { INITIAL_PASSWORD, SECRET_ID, makeTarget } from '../rotation/harness.js';
import { passwordIn } from '../support/secret-text.js';

/**
 * A run that lost its target's lease (paused past the expiry, or still running in memory while
 * Redis restarted and another run took the target) is stopped by the fence at its next write:
 * nothing it writes after that reaches the store or the cloud.
 */
function setup(loseAfter: 'stage' | 'apply') {
  const clock = manualClock();
  const cluster = new ScriptedCluster({
    clock,
    password: INITIAL_PASSWORD,
    busyAfterResetMs: 1_000,
    applyDelayMs: 0,
  });
  const store = new MemoryStore(() => clock.now());
  store.seed(
    SECRET_ID,
    '00000000-seed-0000-0000-000000000000',
    JSON.stringify({ username: 'admin', password: INITIAL_PASSWORD, engine: 'otc-css' }),
  );
  let held = true;
  const check = async () => held;
  const run = rotate(
    {
      target: makeTarget(),
      rotationId: 'job-fenced',
      policy: TEST_POLICY,
      timing: rotationTimingSchema.parse({}),
    },
    {
      provider: fenceProvider(cluster.provider(), check),
      store: fenceStore(store, check),
      clock,
      generatePassword: () => 'Fenced-Pw-0001!',
      loginCheck: async (p) => cluster.login(p),
      onStep: (e) => {
        if (e.step === loseAfter) held = false;
      },
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { store, cluster, run };
}

describe('the lease fence', () => {
  it('lost before apply: the reset is never sent, the run stops as busy', async () => {
    const t = setup('stage');
    const err = await t.run;
    if (!isRotationError(err)) throw new Error('expected a RotationError');
    expect(err.kind).toBe('busy');
    expect(err.step).toBe('apply');
    expect(err.pendingMayBeApplied).toBe(false);
    expect(t.cluster.taken).toEqual([]);
    expect(t.cluster.currentPassword()).toBe(INITIAL_PASSWORD);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSCURRENT') ?? '')).toBe(INITIAL_PASSWORD);
  });

  it('lost after apply: promote is refused, the pending password is kept for whoever holds the target', async () => {
    const t = setup('apply');
    const err = await t.run;
    if (!isRotationError(err)) throw new Error('expected a RotationError');
    expect(err.kind).toBe('busy');
    expect(err.step).toBe('promote');
    expect(err.detail).toMatch(/lost the target lease/);
    expect(err.pendingMayBeApplied).toBe(true);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSCURRENT') ?? '')).toBe(INITIAL_PASSWORD);
    expect(passwordIn(t.store.peek(SECRET_ID, 'AWSPENDING') ?? '')).toBe('Fenced-Pw-0001!');
    expect(t.cluster.currentPassword()).toBe('Fenced-Pw-0001!');
  });
});
