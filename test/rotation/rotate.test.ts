import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.js';
import { rotate, VERIFY_ATTEMPTS } from '../../src/rotation/rotate.js';
import { RotationError, isRotationError } from '../../src/rotation/rotation-error.js';
import { versionToken } from '../../src/rotation/token.js';
import { ROTATION_STEPS } from '../../src/rotation/types.js';
import { Harness, INITIAL_PASSWORD, SECRET_ID, errorTexts, expectNoPasswords } from './harness.js';

function tokenOf(h: Harness, generation: number): string {
  return versionToken({ targetId: h.target.config.id, rotationId: h.request.rotationId, generation });
}

/** The JSON document labelled `stage` (the harness's secret is json). */
function peekDoc(
  h: Harness,
  stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS',
): ({ password: string } & Record<string, unknown>) | undefined {
  const text = h.store.peek(SECRET_ID, stage);
  return text === undefined
    ? undefined
    : (JSON.parse(text) as { password: string } & Record<string, unknown>);
}

async function expectError(h: Harness): Promise<RotationError> {
  const o = await h.run();
  if (o.type !== 'error') throw new Error(`expected an error, got ${o.type}`);
  return o.error;
}

describe('rotate: a clean run', () => {
  it('runs every step in order and promotes the password the cluster accepts', async () => {
    const h = new Harness();
    const o = await h.run();
    expect(o.type).toBe('ok');
    if (o.type !== 'ok') return;
    expect(o.result.alreadyDone).toBe(false);
    expect(o.result.versionId).toBe(tokenOf(h, 0));
    expect(o.result.steps.map((s) => s.step)).toEqual([...ROTATION_STEPS]);
    expect(o.result.steps.every((s) => s.outcome === 'ok')).toBe(true);
    expect(h.events).toEqual(o.result.steps);
    h.checkDone();
    h.checkAlways();
    // The seeded secret is adopted as it is: only its password changed.
    const current = h.store.peek(SECRET_ID, 'AWSCURRENT')!;
    const password = (JSON.parse(current) as { password: string }).password;
    expect(current).toBe(JSON.stringify({ username: 'admin', password, engine: 'otc-css' }));
    expect(h.registered.has(password)).toBe(true);
    expect(h.registered.has(current)).toBe(true);
  });

  it('waits for the cluster to settle and keeps logging in while the change lands', async () => {
    // The password takes effect 2 minutes after the reset, but the cluster says ready after 1.
    const h = new Harness({ busyAfterResetMs: 60_000, applyDelayMs: 120_000 });
    const o = await h.run();
    expect(o.type).toBe('ok');
    const verify = h.events.find((e) => e.step === 'verify')!;
    expect(verify.detail).toMatch(/login accepted at attempt [2-5]/);
    h.checkDone();
  });

  it('skips verify without a data-plane check', async () => {
    const h = new Harness({ loginCheck: false });
    const o = await h.run();
    expect(o.type).toBe('ok');
    expect(h.events.find((e) => e.step === 'verify')?.outcome).toBe('skipped');
    h.checkDone();
  });

  it('a second run of a finished rotation does nothing', async () => {
    const h = new Harness();
    await h.run();
    const resets = h.cluster.taken.length;
    const o = await h.run();
    expect(o.type === 'ok' && o.result.alreadyDone).toBe(true);
    expect(h.cluster.taken.length).toBe(resets);
    expect(h.store.log.filter((e) => e.op === 'stage')).toHaveLength(1);
  });

  it('a new rotation id rotates again; the old id stays done even after being superseded', async () => {
    const h = new Harness();
    await h.run();
    const first = peekDoc(h, 'AWSCURRENT')!.password;
    const second = await rotate({ ...h.request, rotationId: 'job-43' }, h.deps(new AbortController().signal));
    expect(second.alreadyDone).toBe(false);
    expect(peekDoc(h, 'AWSPREVIOUS')?.password).toBe(first);
    const again = await h.run();
    expect(again.type === 'ok' && again.result.alreadyDone).toBe(true);
    expect(h.cluster.taken).toHaveLength(2);
  });
});

describe('rotate: outcomes of the reset', () => {
  it('unknown outcome keeps the pending version and the re-run applies the same password', async () => {
    const h = new Harness({ loginCheck: false });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    const err = await expectError(h);
    expect(err.kind).toBe('unknown-outcome');
    expect(err.pendingMayBeApplied).toBe(true);
    const pending = peekDoc(h, 'AWSPENDING')!;
    expect(h.cluster.eventualPassword()).toBe(pending.password);
    const o = await h.run();
    expect(o.type).toBe('ok');
    expect(h.events.find((e) => e.step === 'stage' && e.outcome === 'reused')).toBeDefined();
    // Re-applied the same password: the cluster only ever got one.
    expect(h.cluster.taken).toEqual([pending.password, pending.password]);
    h.checkDone();
  });

  it('with a login check, a re-run does not reset again when the cluster already holds the password', async () => {
    const h = new Harness({ loginCheck: true });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    await expectError(h);
    const o = await h.run();
    expect(o.type).toBe('ok');
    expect(h.cluster.taken).toHaveLength(1);
    const apply = h.events.filter((e) => e.step === 'apply').at(-1)!;
    expect(apply).toMatchObject({
      outcome: 'skipped',
      detail: 'the cluster already accepts the pending password',
    });
    h.checkDone();
  });

  it('password-rejected drops a fresh password; the re-run stages the next generation', async () => {
    const h = new Harness();
    h.cluster.script('reset', { kind: 'password-rejected' });
    const err = await expectError(h);
    expect(err).toMatchObject({
      kind: 'password-rejected',
      pendingMayBeApplied: false,
      httpStatus: 400,
      vendorCode: 'CSS.2026',
      generation: 0,
    });
    expect(peekDoc(h, 'AWSPENDING')).toBeUndefined();
    const o = await h.run();
    expect(o.type === 'ok' && o.result.versionId).toBe(tokenOf(h, 1));
    expect(h.generated).toHaveLength(2);
    h.checkDone();
    h.checkAlways();
  });

  it('gives up with rejections-exhausted after maxPasswordRejections fresh passwords', async () => {
    const h = new Harness({ accepts: () => false, timing: { maxPasswordRejections: 3 } });
    for (let g = 0; g < 3; g++) {
      const err = await expectError(h);
      expect(err).toMatchObject({ kind: 'password-rejected', generation: g, pendingMayBeApplied: false });
    }
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'rejections-exhausted', step: 'stage', pendingMayBeApplied: false });
    expect(h.generated).toHaveLength(3);
    expect(peekDoc(h, 'AWSCURRENT')?.password).toBe(INITIAL_PASSWORD);
    expect(h.store.log.filter((e) => e.op === 'promote')).toHaveLength(0);
    h.checkAlways();
  });

  it('keeps a reused pending password that the cloud rejects when it may already hold it (no login check)', async () => {
    const h = new Harness({ loginCheck: false });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' }, { kind: 'password-rejected' });
    await expectError(h);
    h.clock.advance(600_000);
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'password-rejected', pendingMayBeApplied: true });
    expect(err.message).toContain('a pending version is left that the cloud may hold');
    expect(peekDoc(h, 'AWSPENDING')?.password).toBe(h.cluster.currentPassword());
    h.checkAlways();
  });

  it('with a login check, a rejected reused password the cluster holds is promoted, not dropped', async () => {
    const h = new Harness({ loginCheck: true });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    await expectError(h);
    // The probe login fails once (data plane flaky), then the cloud refuses to set the same password again.
    let probes = 0;
    const deps = h.deps(new AbortController().signal);
    const check = deps.loginCheck!;
    deps.loginCheck = async (pw, s) => (++probes === 1 ? false : check(pw, s));
    h.cluster.script('reset', { kind: 'password-rejected' });
    const result = await rotate(h.request, deps);
    expect(result.alreadyDone).toBe(false);
    expect(result.steps.find((s) => s.step === 'apply')?.detail).toMatch(/already accepts it/);
    h.checkDone();
  });

  it('with a login check, a rejected reused password is dropped only when the cluster still takes the current one', async () => {
    const h = new Harness({ loginCheck: true });
    // Killed between staging and the reset: the pending password never reached the cluster.
    h.arm({ site: 'onStep:ready', fault: { type: 'kill' } });
    expect((await h.run()).type).toBe('killed');
    h.cluster.script('reset', { kind: 'password-rejected' });
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'password-rejected', pendingMayBeApplied: false });
    expect(peekDoc(h, 'AWSPENDING')).toBeUndefined();
    expect((await h.run()).type).toBe('ok');
    h.checkDone();
    h.checkAlways();
  });

  it.each(['precondition', 'auth', 'not-found', 'bad-request'] as const)(
    '%s stops without dropping the pending version; the re-run reuses it',
    async (kind) => {
      const h = new Harness();
      h.cluster.script('reset', { kind });
      const err = await expectError(h);
      expect(err).toMatchObject({ kind, step: 'apply', pendingMayBeApplied: false });
      const pending = peekDoc(h, 'AWSPENDING')!;
      expect(pending).toBeDefined();
      expect((await h.run()).type).toBe('ok');
      expect(peekDoc(h, 'AWSCURRENT')?.password).toBe(pending.password);
      h.checkDone();
    },
  );

  it('busy and throttled carry retryAfterMs for the caller', async () => {
    const h = new Harness();
    h.cluster.script('reset', { kind: 'throttled', retryAfterMs: 42_000 });
    const err = await expectError(h);
    expect(err).toMatchObject({
      kind: 'throttled',
      retryAfterMs: 42_000,
      httpStatus: 429,
      pendingMayBeApplied: false,
    });
  });
});

describe('rotate: what the core reports and registers', () => {
  it('registers the current and previous passwords it reads from the store, not only the new one', async () => {
    const h = new Harness();
    expect((await h.run()).type).toBe('ok');
    expect(h.registered.has(INITIAL_PASSWORD)).toBe(true);
    // A later rotation reads the first one's password as current and the initial one as previous.
    h.registered.clear();
    await rotate({ ...h.request, rotationId: 'job-43' }, h.deps(new AbortController().signal));
    expect(h.registered.has(h.generated[0]!)).toBe(true);
    expect(h.registered.has(INITIAL_PASSWORD)).toBe(true);
  });

  it.each(['auth', 'precondition', 'not-found', 'bad-request', 'busy'] as const)(
    'a %s error from the reset gives the apply step a short detail: kind, HTTP status, vendor code',
    async (kind) => {
      const h = new Harness();
      h.cluster.script('reset', { kind });
      const err = await expectError(h);
      const apply = h.events.find((e) => e.step === 'apply')!;
      expect(apply.outcome).toBe('failed');
      expect(apply.detail).toBe(
        `the reset call failed: ${kind}, HTTP ${err.httpStatus}, code ${err.vendorCode}`,
      );
      expect(err.detail).toBe(apply.detail);
    },
  );

  it('an unknown outcome without an answer says what happened on our side, never the vendor text', async () => {
    const h = new Harness({ loginCheck: false });
    const deps = h.deps(new AbortController().signal);
    deps.provider = {
      ...deps.provider,
      reset: (_target, password) =>
        Promise.reject(
          new ProviderError({
            kind: 'unknown-outcome',
            provider: 'otc-css',
            operation: 'reset',
            detail: 'no answer within 30000 ms',
            vendorMessage: `echo ${password}`,
          }),
        ),
    };
    const err: unknown = await rotate(h.request, deps).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isRotationError(err)) throw new Error('expected a RotationError');
    const apply = h.events.find((e) => e.step === 'apply')!;
    expect(apply.detail).toBe('the reset call failed: unknown-outcome, no answer within 30000 ms');
    expect(err.detail).toBe(apply.detail);
    expect(h.generated).toHaveLength(1);
    expectNoPasswords(h.passwords(), { events: h.events, error: errorTexts(err) });
  });
});

describe('rotate: a version of ours that lost its pending label', () => {
  it('with a login check, a password the cluster accepts is rolled forward, never replaced', async () => {
    const h = new Harness();
    // The cloud takes the password, the answer is lost; then a store fault loses its pending label.
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    await expectError(h);
    const applied = peekDoc(h, 'AWSPENDING')!.password;
    await h.store.dropPending(SECRET_ID, tokenOf(h, 0));
    h.clock.advance(120_000);
    // The re-run meets a cloud that refuses any reset: it must not have staged a new password.
    h.cluster.script('reset', { kind: 'auth' });
    const o = await h.run();
    expect(o.type).toBe('ok');
    expect(h.generated).toHaveLength(1);
    const stage = h.events.filter((e) => e.step === 'stage').at(-1)!;
    expect(stage).toMatchObject({ outcome: 'reused', versionId: tokenOf(h, 1) });
    expect(stage.detail).toMatch(/generation 0 is no longer pending but the cluster accepts its password/);
    expect(peekDoc(h, 'AWSCURRENT')?.password).toBe(applied);
    h.checkDone();
  });

  it('a dropped version the cluster refuses is taken as rejected: the next generation is new', async () => {
    const h = new Harness();
    h.cluster.script('reset', { kind: 'password-rejected' });
    await expectError(h);
    expect((await h.run()).type).toBe('ok');
    expect(h.generated).toHaveLength(2);
    expect(peekDoc(h, 'AWSCURRENT')?.password).toBe(h.generated[1]);
    h.checkDone();
  });
});

describe('rotate: waiting', () => {
  it('ready-timeout when the cluster stays busy, bounded by readyTimeout', async () => {
    const h = new Harness({ timing: { readyTimeout: 120_000, pollInterval: 15_000 } });
    h.cluster.busyFor(3_600_000);
    const start = h.clock.now();
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'ready-timeout', step: 'ready', pendingMayBeApplied: false });
    expect(h.clock.now() - start).toBeLessThanOrEqual(120_000 + 1_000);
    expect(h.cluster.taken).toHaveLength(0);
  });

  it('status polls that fail transiently are retried, honouring Retry-After', async () => {
    const h = new Harness();
    // The first status read is the stage step's, before anything is staged; then ready's.
    h.cluster.script('status', { kind: 'throttled', retryAfterMs: 45_000 }, { kind: 'unknown-outcome' });
    const start = h.clock.now();
    expect((await h.run()).type).toBe('ok');
    const stage = h.events.find((e) => e.step === 'stage')!;
    expect(stage.durationMs).toBeGreaterThanOrEqual(45_000 + 15_000);
    expect(h.clock.now()).toBeGreaterThan(start);
    h.cluster.script('status', { kind: 'busy' });
    h.clock.advance(3_600_000);
    const next = await rotate({ ...h.request, rotationId: 'job-43' }, h.deps(new AbortController().signal));
    expect(next.alreadyDone).toBe(false);
  });

  it('a failed cluster stops with cluster-failed before anything is staged', async () => {
    const h = new Harness();
    h.cluster.fail('status 303');
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'cluster-failed', step: 'stage', pendingMayBeApplied: false });
    expect(err.message).toContain('status 303');
    expect(h.store.log.filter((e) => e.op === 'stage')).toEqual([]);
  });

  it('settle-timeout after an accepted reset keeps the pending version and says the cloud may hold it', async () => {
    const h = new Harness({ busyAfterResetMs: 7_200_000, timing: { settleTimeout: 600_000 } });
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'settle-timeout', step: 'settle', pendingMayBeApplied: true });
    expect(peekDoc(h, 'AWSPENDING')?.password).toBe(h.cluster.eventualPassword());
  });

  it('a re-run waits as long as settling would take when the cluster is busy with our own reset', async () => {
    // With the login check the re-run sees that the cluster holds the password and does not reset again.
    const h = new Harness({
      loginCheck: true,
      busyAfterResetMs: 45 * 60_000,
      timing: { readyTimeout: 10 * 60_000, settleTimeout: 30 * 60_000 },
    });
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'settle-timeout', pendingMayBeApplied: true });
    // 15 more minutes of busy: longer than readyTimeout, shorter than settleTimeout.
    expect((await h.run()).type).toBe('ok');
    const ready = h.events.filter((e) => e.step === 'ready').at(-1)!;
    expect(ready.durationMs).toBeGreaterThan(10 * 60_000);
    h.checkDone();
  });

  it('verify-failed when the login keeps refusing; the re-run finishes once it accepts', async () => {
    const h = new Harness();
    h.arm({ site: 'verify.login', fault: { type: 'refuse', times: VERIFY_ATTEMPTS } });
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'verify-failed', step: 'verify', pendingMayBeApplied: true });
    expect((await h.run()).type).toBe('ok');
    h.checkDone();
  });

  it('abort during a wait throws aborted and loses nothing', async () => {
    const h = new Harness();
    h.cluster.busyFor(3_600_000);
    const controller = new AbortController();
    const deps = h.deps(controller.signal);
    const sleep = h.clock.sleep;
    let sleeps = 0;
    deps.clock = {
      now: h.clock.now,
      sleep: async (ms, s) => {
        if (++sleeps === 3) controller.abort(new Error('shutdown'));
        return sleep(ms, s);
      },
    };
    const err = await rotate(h.request, deps).catch((e: unknown) => e);
    expect(isRotationError(err) && err.kind).toBe('aborted');
    expect(peekDoc(h, 'AWSPENDING')).toBeDefined();
  });
});

describe('rotate: adopting a pending version left by another rotation', () => {
  it('rolls the other rotation’s pending password forward instead of replacing it', async () => {
    const h = new Harness({ loginCheck: false });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    await expectError(h);
    const left = peekDoc(h, 'AWSPENDING')!;
    // The worker gave up on job-42; a new rotation starts.
    const result = await rotate({ ...h.request, rotationId: 'job-43' }, h.deps(new AbortController().signal));
    expect(result.steps[0]).toMatchObject({ step: 'stage', outcome: 'reused' });
    expect(result.steps[0]!.detail).toMatch(/adopted the pending version/);
    expect(peekDoc(h, 'AWSCURRENT')?.password).toBe(left.password);
    expect(h.generated).toHaveLength(1);
    h.checkDone('job-43');
  });
});

describe('rotate: errors never hold a password', () => {
  it('scrubs passwords echoed by the cloud and by exceptions from message, cause chain, toJSON and events', async () => {
    const h = new Harness({ loginCheck: false });
    h.arm({ site: 'apply.reset:after', fault: { type: 'crash' } });
    const err = await expectError(h);
    expect(err.kind).toBe('unknown-outcome');
    // The raw exception held the password: prove the test would catch a leak.
    expect(String((err.cause as Error).message)).toContain('[REDACTED]');
    h.cluster.script('reset', { kind: 'password-rejected' });
    const err2 = await expectError(h);
    expect(err2.kind).toBe('password-rejected');
    expect(JSON.stringify(err2.toJSON())).toContain('[REDACTED]');
    expectNoPasswords(h.passwords(), [...errorTexts(err), ...errorTexts(err2), h.events]);
    h.checkAlways();
  });

  it('toJSON holds plain fields only', async () => {
    const h = new Harness();
    h.cluster.script('reset', { kind: 'busy' });
    const err = await expectError(h);
    const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    expect(json).toMatchObject({
      name: 'RotationError',
      kind: 'busy',
      step: 'apply',
      rotationId: 'job-42',
      targetId: 'search-eu-de',
      versionId: tokenOf(h, 0),
      pendingMayBeApplied: false,
      httpStatus: 409,
      vendorCode: 'CSS.0011',
    });
    expect((json.steps as unknown[]).length).toBe(3);
    expect(err).toBeInstanceOf(RotationError);
  });

  it('rejects a malformed request naming the field', async () => {
    const h = new Harness();
    const bad = { ...h.request, rotationId: '', timing: { ...h.timing, pollInterval: 0 } };
    await expect(rotate(bad, h.deps(new AbortController().signal))).rejects.toThrow(
      /rotationId: must be a non-empty string; timing.pollInterval: must be a positive/,
    );
  });
});
