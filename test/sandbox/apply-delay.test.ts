import { afterEach, describe, expect, it } from 'vitest';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import { generatePassword } from '../../src/policy/generate.js';
import { createProvider } from '../../src/providers/registry.js';
import { rotate, VERIFY_ATTEMPTS } from '../../src/rotation/rotate.js';
import { isRotationError } from '../../src/rotation/rotation-error.js';
import type { StepEvent } from '../../src/rotation/types.js';
import { parseSandboxClusters, type Sandbox, sandboxTarget, startSandbox } from '../../src/sandbox/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { dataPlaneLogin, sandboxSpec, testPassword } from '../support/sandbox.js';
import { passwordOf } from '../support/secret-text.js';

const START = Date.UTC(2026, 0, 1);
const POLL = 1_000;
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('applyDelayMs: a cluster that applies a reset asynchronously', () => {
  it('keeps accepting the old password and refusing the new one until the delay has passed', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock, busyMs: 0 });
    const c = sandbox.clusters.add(sandboxSpec('huaweicloud-css', 1, { applyDelayMs: 5_000 }));
    const old = c.password;
    const p = createProvider('huaweicloud-css', { fetch, clock, timeoutMs: 5_000 });
    const pw = testPassword();
    await p.reset(sandboxTarget(sandbox.url, c), pw);
    // the control plane took it...
    expect(c.password).toBe(pw);
    // ...the data plane has not yet
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', pw)).toBe(401);
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', old)).toBe(200);
    clock.advance(4_999);
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', pw)).toBe(401);
    clock.advance(1);
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', pw)).toBe(200);
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', old)).toBe(401);
  });

  it('without applyDelayMs the new password works at once (default 0)', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock, busyMs: 0 });
    const c = sandbox.clusters.add(sandboxSpec('otc-css', 2));
    const pw = testPassword();
    await createProvider('otc-css', { fetch, clock, timeoutMs: 5_000 }).reset(
      sandboxTarget(sandbox.url, c),
      pw,
    );
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'admin', pw)).toBe(200);
  });

  it('the clusters file takes applyDelayMs per cluster and refuses a bad one naming the field', () => {
    const base = {
      provider: 'ncp-cdss',
      serviceGroupInstanceNo: '7',
      accessKey: 'a',
      secretKey: 's',
      password: 'p',
    };
    expect(
      parseSandboxClusters(JSON.stringify([{ ...base, applyDelayMs: 3000 }])).clusters[0]?.applyDelayMs,
    ).toBe(3000);
    expect(() => parseSandboxClusters(JSON.stringify([{ ...base, applyDelayMs: -1 }]), 'c.json')).toThrow(
      '[0].applyDelayMs: must be a whole number of ms >= 0',
    );
  });

  /** One rotation through the real core, provider and sandbox, with the data-plane login as verify. */
  async function rotateWithDelay(provider: 'ncp-cdss' | 'otc-css', applyDelayMs: number) {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock, busyMs: 0 });
    const c = sandbox.clusters.add(sandboxSpec(provider, 3, { applyDelayMs }));
    const initial = c.password;
    const p = createProvider(provider, { fetch, clock, timeoutMs: 5_000 });
    const target = sandboxTarget(sandbox.url, c);
    const store = new MemoryStore(clock.now);
    store.seed(
      target.config.secret.id,
      `seed-${'0'.repeat(40)}`,
      JSON.stringify({
        username: c.username,
        password: initial,
        engine: provider,
      }),
    );
    const events: StepEvent[] = [];
    const timing = rotationTimingSchema.parse({ pollInterval: POLL });
    const logins: { at: number; status: number }[] = [];
    const outcome = await rotate(
      { target, rotationId: `job-delay-${applyDelayMs}`, policy: p.policy, timing },
      {
        provider: p,
        store,
        clock,
        generatePassword: (policy) => generatePassword(policy),
        onStep: (e) => void events.push(e),
        loginCheck: async (pw) => {
          const status = await dataPlaneLogin(c.dataPlaneUrl, c.username, pw);
          logins.push({ at: clock.now(), status });
          return status === 200;
        },
      },
    ).catch((err: unknown) => {
      if (isRotationError(err)) return err;
      throw err;
    });
    return { outcome, events, logins, cluster: c, store, target, initial };
  }

  it('the core verify step waits the delay out, one pollInterval apart, then promotes', async () => {
    // the reset, one pollInterval to the settle poll, then logins at +1, +2, +3, +4 poll intervals
    const { outcome, events, logins, cluster, store, target } = await rotateWithDelay('otc-css', 3.5 * POLL);
    expect(isRotationError(outcome)).toBe(false);
    const verify = events.find((e) => e.step === 'verify')!;
    expect(verify.outcome).toBe('ok');
    expect(verify.detail).toBe('login accepted at attempt 4');
    expect(logins.map((l) => l.status)).toEqual([401, 401, 401, 200]);
    expect(logins[1]!.at - logins[0]!.at).toBe(POLL);
    expect(passwordOf(await store.getCurrent(target.config.secret.id))).toBe(cluster.password);
  });

  it('NCP too; a delay longer than VERIFY_ATTEMPTS pollIntervals fails the verify and keeps the version pending', async () => {
    const { outcome, logins, cluster, store, target } = await rotateWithDelay(
      'ncp-cdss',
      (VERIFY_ATTEMPTS + 2) * POLL,
    );
    expect(isRotationError(outcome) && outcome.kind).toBe('verify-failed');
    expect(logins).toHaveLength(VERIFY_ATTEMPTS);
    expect(logins.every((l) => l.status === 401)).toBe(true);
    // nothing promoted: the cluster's new password waits as the pending version
    expect(passwordOf(await store.getPending(target.config.secret.id))).toBe(cluster.password);
  });
});
