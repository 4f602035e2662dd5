import { expect } from 'vitest';
import { targetSchema, rotationTimingSchema } from '../../src/config/schema.js';
import type { RotationTiming } from '../../src/config/schema.js';
import { manualClock } from '../../src/core/clock.js';
import type { ErrorKind } from '../../src/providers/errors.js';
import type { ProviderTarget } from '../../src/providers/types.js';
import { SecretStoreError } from '../../src/secrets/types.js';
import type { SecretStoreErrorKind } from '../../src/secrets/types.js';
import { rotate } from '../../src/rotation/rotate.js';
import { versionToken } from '../../src/rotation/token.js';
import { isRotationError } from '../../src/rotation/rotation-error.js';
import type { RotationError } from '../../src/rotation/rotation-error.js';
import type {
  RotationDeps,
  RotationRequest,
  RotationResult,
  RotationStep,
  StepEvent,
} from '../../src/rotation/types.js';
import { MemoryStore } from '../support/memory-store.js';
import { passwordIn } from '../support/secret-text.js';
import { ScriptedCluster, TEST_POLICY, cloudError } from '../support/scripted-provider.js';

/** Where a fault can hit a run, in the order a clean run reaches them. */
export const SITES = [
  'stage.read',
  'stage.write:before',
  'stage.write:after',
  'onStep:stage',
  'ready.status',
  'onStep:ready',
  'apply.probe',
  'apply.reset:before',
  'apply.reset:after',
  'onStep:apply',
  'settle.status',
  'onStep:settle',
  'verify.login',
  'onStep:verify',
  'promote.write:before',
  'promote.write:after',
  'onStep:promote',
  'drop.write:before',
  'drop.write:after',
] as const;
export type Site = (typeof SITES)[number];

export type Fault =
  /** The cloud answers this ProviderError (its body echoes the password when there is one). */
  | { type: 'provider'; kind: ErrorKind }
  /** The store fails with this SecretStoreError. */
  | { type: 'store'; kind: SecretStoreErrorKind }
  /** An unexpected exception (a bug, a socket error) whose message holds the password at hand. */
  | { type: 'crash' }
  /** The caller's signal fires here (shutdown). */
  | { type: 'abort' }
  /** The process dies here: the call never returns and no handler runs. */
  | { type: 'kill' }
  /** The data-plane login answers "refused" (`times` logins in a row). */
  | { type: 'refuse'; times: number }
  /** The cluster reports failed for the rest of this run. */
  | { type: 'cluster-failed' }
  /** The cluster stays busy beyond the step's timeout. */
  | { type: 'stuck' };

export function faultName(f: Fault): string {
  switch (f.type) {
    case 'provider':
    case 'store':
      return `${f.type}:${f.kind}`;
    case 'refuse':
      return `refuse×${f.times}`;
    default:
      return f.type;
  }
}

export interface ArmedFault {
  site: Site;
  fault: Fault;
  /** Matching calls to let through before firing. */
  skip?: number;
  /** Fire only after this other fault has fired (in a later run unless sameRun). */
  after?: ArmedFault;
  sameRun?: boolean;
}

interface Armed extends ArmedFault {
  skipLeft: number;
  /** How many more times it fires (refuse fires `times` times). */
  left: number;
  firedInRun: number | undefined;
}

export type RunOutcome =
  { type: 'ok'; result: RotationResult } | { type: 'error'; error: RotationError } | { type: 'killed' };

export interface HarnessOptions {
  loginCheck?: boolean;
  /** The secret's text at the start (default: the rotator's JSON with INITIAL_PASSWORD); null: no secret. */
  seedText?: string | null;
  /** The target's secret.format and secret.username. */
  secretFormat?: 'json' | 'text';
  secretUsername?: string;
  busyAfterResetMs?: number;
  applyDelayMs?: number;
  /** The cloud's own password check (persistent rejections). */
  accepts?: (password: string) => boolean;
  timing?: Partial<RotationTiming>;
  rotationId?: string;
}

export const INITIAL_PASSWORD = 'Initial-Pw-0001!';
export const SECRET_ID = 'prod/css/search-eu-de/admin';
const SEED_VERSION = '00000000-seed-0000-0000-000000000000';

export function makeTarget(secret: { format?: 'json' | 'text'; username?: string } = {}): ProviderTarget {
  const config = targetSchema.parse({
    id: 'search-eu-de',
    provider: 'otc-css',
    region: 'eu-de',
    projectId: '6204a5bd270343b5885144cf9c8c158d',
    clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    credentials: { accessKey: { env: 'OTC_AK' }, secretKey: { env: 'OTC_SK' } },
    secret: { id: SECRET_ID, ...secret },
    dataPlane: { url: 'https://192.168.0.122:9200' },
  });
  return { config, credentials: { accessKey: 'AKTEST', secretKey: 'SKTEST' } };
}

/**
 * One target, one cluster, one store, shared by every run of one rotation; faults armed on sites.
 * After each run it checks the protocol's invariant, and it collects everything a password could
 * leak into.
 */
export class Harness {
  readonly clock = manualClock();
  readonly cluster: ScriptedCluster;
  readonly store: MemoryStore;
  readonly target: ProviderTarget;
  readonly timing: RotationTiming;
  readonly request: RotationRequest;
  readonly loginCheck: boolean;
  /** Every password the generator produced. */
  readonly generated: string[] = [];
  readonly registered = new Set<string>();
  readonly events: StepEvent[] = [];
  readonly outcomes: RunOutcome[] = [];
  /** Problems found while the runs went on (checked at promote time). */
  readonly violations: string[] = [];
  private readonly armed: Armed[] = [];
  private runIndex = 0;
  private lastStep: RotationStep | undefined;
  private controller = new AbortController();
  private onKill: (() => void) | undefined;
  private heal: (() => void) | undefined;

  constructor(opts: HarnessOptions = {}) {
    this.loginCheck = opts.loginCheck ?? true;
    this.target = makeTarget({
      ...(opts.secretFormat ? { format: opts.secretFormat } : {}),
      ...(opts.secretUsername ? { username: opts.secretUsername } : {}),
    });
    this.cluster = new ScriptedCluster({
      clock: this.clock,
      password: INITIAL_PASSWORD,
      busyAfterResetMs: opts.busyAfterResetMs ?? 90_000,
      applyDelayMs: opts.applyDelayMs ?? 30_000,
      echoPassword: true,
      ...(opts.accepts ? { accepts: opts.accepts } : {}),
    });
    this.store = new MemoryStore(() => this.clock.now());
    if (opts.seedText !== null) {
      this.store.seed(
        SECRET_ID,
        SEED_VERSION,
        opts.seedText ?? JSON.stringify({ username: 'admin', password: INITIAL_PASSWORD, engine: 'otc-css' }),
      );
    }
    this.timing = { ...rotationTimingSchema.parse({}), ...opts.timing };
    this.request = {
      target: this.target,
      rotationId: opts.rotationId ?? 'job-42',
      policy: TEST_POLICY,
      timing: this.timing,
    };
    this.store.intercept = async (op, phase, args) => {
      if (op === 'promote' && phase === 'before') this.checkPromote(String(args[1]));
      const site = storeSite(op, phase);
      if (site) await this.fire(site, { call: true });
    };
    this.cluster.intercept = async (op, phase, args) => {
      let site: Site | undefined;
      if (op === 'reset') site = phase === 'before' ? 'apply.reset:before' : 'apply.reset:after';
      else if (phase === 'before') site = this.lastStep === 'apply' ? 'settle.status' : 'ready.status';
      if (site) await this.fire(site, { call: true, password: args.password });
    };
  }

  arm(...faults: ArmedFault[]): this {
    for (const f of faults) {
      this.armed.push({
        ...f,
        skipLeft: f.skip ?? 0,
        left: f.fault.type === 'refuse' ? f.fault.times : 1,
        firedInRun: undefined,
      });
    }
    return this;
  }

  /** Whether an armed fault has fired, and in which run. */
  firedIn(f: ArmedFault): number | undefined {
    return this.armed.find((a) => a.site === f.site && a.fault === f.fault)?.firedInRun;
  }

  deps(signal: AbortSignal): RotationDeps {
    const deps: RotationDeps = {
      provider: this.cluster.provider(),
      store: this.store,
      clock: this.clock,
      signal,
      generatePassword: () => {
        const p = `Rot${this.generated.length + 1}-${Math.random().toString(36).slice(2, 10)}-Xy7!`;
        this.generated.push(p);
        return p;
      },
      registerSecret: (v) => this.registered.add(v),
      onStep: async (event) => {
        this.events.push(structuredClone(event));
        this.lastStep = event.step;
        if (event.outcome !== 'failed') await this.fire(`onStep:${event.step}`, { call: false });
      },
    };
    if (this.loginCheck) {
      deps.loginCheck = async (password) => {
        const site: Site = this.lastStep === 'settle' ? 'verify.login' : 'apply.probe';
        const refused = await this.fire(site, { call: true, password });
        if (refused) return false;
        return this.cluster.login(password);
      };
    }
    return deps;
  }

  /** One run of rotate() with a fresh signal; a killed run is abandoned, like a dead process. */
  async run(): Promise<RunOutcome> {
    this.runIndex++;
    this.heal?.();
    this.heal = undefined;
    this.lastStep = undefined;
    this.controller = new AbortController();
    const killed = new Promise<RunOutcome>((resolve) => {
      this.onKill = () => resolve({ type: 'killed' });
    });
    const running = rotate(this.request, this.deps(this.controller.signal)).then(
      (result): RunOutcome => ({ type: 'ok', result }),
      (error: unknown): RunOutcome => {
        if (!isRotationError(error)) throw error;
        return { type: 'error', error };
      },
    );
    const outcome = await Promise.race([running, killed]);
    this.outcomes.push(outcome);
    if (outcome.type === 'error') this.checkAfterError(outcome.error);
    // Time passes before anyone runs it again.
    this.clock.advance(1_000);
    return outcome;
  }

  /** Runs until a run succeeds (the faults fire once each: a human fixed the cause). */
  async runUntilDone(maxRuns: number): Promise<RunOutcome[]> {
    const mine: RunOutcome[] = [];
    for (let i = 0; i < maxRuns; i++) {
      const o = await this.run();
      mine.push(o);
      if (o.type === 'ok') break;
    }
    return mine;
  }

  /** Every password that appeared in this rotation (the initial one too). */
  passwords(): string[] {
    return [INITIAL_PASSWORD, ...this.generated];
  }

  /**
   * The protocol's invariant after a run that ended in an error: the store's current password is the
   * one the cluster holds (or will hold once the change in flight lands), or the error says that a
   * pending version the cloud may hold is left, and that version is the one the cluster holds.
   */
  checkAfterError(error: RotationError): void {
    // The store holds a value nobody can read as configured: the cluster must not have been touched.
    if (error.kind === 'secret-unreadable' && this.cluster.taken.length === 0) {
      expect(this.store.log.filter((e) => e.op !== 'stage')).toEqual([]);
      return;
    }
    const clusterPw = this.cluster.eventualPassword();
    const current = peekPassword(this.store, 'AWSCURRENT');
    const pending = peekPassword(this.store, 'AWSPENDING');
    if (current !== clusterPw) {
      expect(pending === clusterPw, 'the password the cluster holds is pending in the store').toBe(true);
      // A run that could not read the store cannot know; every other run must say so.
      if (error.storeStateKnown) {
        expect(
          error.pendingMayBeApplied,
          `cluster holds the unpromoted pending password; error: ${error.message}`,
        ).toBe(true);
      } else {
        expect(error.message).toContain('a pending version may be left');
      }
    }
    if (error.pendingMayBeApplied) {
      const v = this.store.versions(SECRET_ID).find((x) => x.versionId === error.versionId);
      expect(v, 'pendingMayBeApplied names a version that exists').toBeDefined();
      expect(
        v!.stages.includes('AWSPENDING') || v!.stages.includes('AWSCURRENT'),
        'a version the cloud may hold stays pending (or was promoted)',
      ).toBe(true);
    }
  }

  /** The end state after a successful run. */
  checkDone(rotationId = this.request.rotationId): void {
    const current = peekPassword(this.store, 'AWSCURRENT')!;
    expect(current).not.toBe(INITIAL_PASSWORD);
    expect(current).toBe(this.cluster.eventualPassword());
    this.clock.advance(3_600_000);
    expect(this.cluster.login(current), 'the cluster accepts the current password').toBe(true);
    expect(peekPassword(this.store, 'AWSPREVIOUS')).toBe(INITIAL_PASSWORD);
    expect(this.store.peek(SECRET_ID, 'AWSPENDING')).toBeUndefined();
    expect(new Set(this.cluster.taken), 'the cluster only ever got one new password').toEqual(
      new Set([current]),
    );
    const promotes = this.store.log.filter((e) => e.op === 'promote');
    expect(promotes.map((e) => passwordIn(e.text))).toEqual([current]);
    // The same rotation finished: its version is the generation after the passwords it dropped.
    const generation = this.store.log.filter((e) => e.op === 'drop').length;
    const currentVersion = this.store.versions(SECRET_ID).find((v) => v.stages.includes('AWSCURRENT'))!;
    expect(currentVersion.versionId).toBe(
      versionToken({ targetId: this.target.config.id, rotationId, generation }),
    );
  }

  /** Checks that hold whatever happened. */
  checkAlways(): void {
    expect(this.violations).toEqual([]);
    for (const drop of this.store.log.filter((e) => e.op === 'drop')) {
      expect(
        this.cluster.held(passwordIn(drop.text)),
        'a dropped pending password never reached the cluster',
      ).toBe(false);
    }
    expect(this.store.versions(SECRET_ID).length).toBeLessThanOrEqual(1 + this.timing.maxPasswordRejections);
    for (const p of this.generated) {
      if (this.store.versions(SECRET_ID).some((v) => passwordIn(v.text) === p)) {
        expect(this.registered.has(p), 'every staged password was registered for scrubbing').toBe(true);
      }
    }
    expectNoPasswords(this.passwords(), {
      events: this.events,
      outcomes: this.outcomes.map((o) =>
        o.type === 'ok' ? o.result : o.type === 'error' ? errorTexts(o.error) : o,
      ),
    });
  }

  private checkPromote(versionId: string): void {
    const v = this.store.versions(SECRET_ID).find((x) => x.versionId === versionId);
    if (!v) return;
    if (passwordIn(v.text) !== this.cluster.eventualPassword()) {
      this.violations.push(`promoted version ${versionId} whose password the cluster does not hold`);
    }
    if (this.cluster.rejected.includes(passwordIn(v.text)) && !this.cluster.held(passwordIn(v.text))) {
      this.violations.push(`promoted a rejected password (version ${versionId})`);
    }
  }

  private active(x: Armed): boolean {
    if (x.after === undefined) return true;
    const run = this.firedIn(x.after);
    return run !== undefined && (x.sameRun === true || run < this.runIndex);
  }

  /** Fires the first armed fault for this site; returns true for a refused login. */
  private async fire(site: Site, ctx: { call: boolean; password?: string | undefined }): Promise<boolean> {
    const a = this.armed.find((x) => x.site === site && x.left > 0 && this.active(x));
    if (!a) return false;
    if (a.skipLeft > 0) {
      a.skipLeft--;
      return false;
    }
    a.left--;
    a.firedInRun ??= this.runIndex;
    const f = a.fault;
    const op = site.includes('status') ? 'status' : 'reset';
    switch (f.type) {
      case 'provider':
        throw cloudError(f.kind, op, ctx.password === undefined ? {} : { echo: ctx.password });
      case 'store':
        throw new SecretStoreError(f.kind, `simulated store failure: ${f.kind}`);
      case 'crash':
        throw new Error(
          `simulated crash${ctx.password === undefined ? '' : ` while sending ${ctx.password}`}`,
        );
      case 'abort':
        this.controller.abort(new Error('worker shutting down'));
        if (ctx.call) throw this.controller.signal.reason;
        return false;
      case 'kill':
        this.onKill?.();
        return new Promise<boolean>(() => undefined);
      case 'refuse':
        return true;
      case 'cluster-failed':
        this.cluster.fail('status 303: instance unavailable');
        this.heal = () => this.cluster.fail(undefined);
        return false;
      case 'stuck': {
        const reused = this.events.some((e) => e.step === 'stage' && e.outcome === 'reused');
        const timeout =
          site === 'settle.status'
            ? this.timing.settleTimeout
            : reused
              ? Math.max(this.timing.readyTimeout, this.timing.settleTimeout)
              : this.timing.readyTimeout;
        this.cluster.busyFor(timeout + 60_000);
        return false;
      }
    }
  }
}

function storeSite(op: string, phase: 'before' | 'after'): Site | undefined {
  if (op === 'getCurrent' && phase === 'before') return 'stage.read';
  if (op === 'stagePending') return phase === 'before' ? 'stage.write:before' : 'stage.write:after';
  if (op === 'promote') return phase === 'before' ? 'promote.write:before' : 'promote.write:after';
  if (op === 'dropPending') return phase === 'before' ? 'drop.write:before' : 'drop.write:after';
  return undefined;
}

/** Message, stack, toJSON and the whole cause chain of an error, as text. */
export function errorTexts(err: unknown, depth = 0): string[] {
  if (depth > 10 || err === undefined || err === null) return [];
  if (!(err instanceof Error)) return [typeof err === 'string' ? err : JSON.stringify(err)];
  const out = [err.message, err.stack ?? '', JSON.stringify(err)];
  const withJson = err as Error & { toJSON?: () => unknown; vendorMessage?: string };
  if (typeof withJson.toJSON === 'function') out.push(JSON.stringify(withJson.toJSON()));
  if (withJson.vendorMessage) out.push(withJson.vendorMessage);
  return [...out, ...errorTexts(err.cause, depth + 1)];
}

/** Fails when any of `passwords` appears anywhere in `where` (serialized). */
export function expectNoPasswords(passwords: readonly string[], where: unknown): void {
  const text = JSON.stringify(where);
  for (const p of passwords) {
    expect(
      text.includes(p),
      `a password leaked: ${text.slice(Math.max(0, text.indexOf(p) - 80), text.indexOf(p))}`,
    ).toBe(false);
  }
}

/** The password of the version labelled `stage`, read without interception. */
function peekPassword(
  store: MemoryStore,
  stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS',
): string | undefined {
  const text = store.peek(SECRET_ID, stage);
  return text === undefined ? undefined : passwordIn(text);
}
