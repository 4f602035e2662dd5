import { scrubberOf } from '../log/secret-registry.js';
import { isProviderError } from '../providers/errors.js';
import type { ErrorKind } from '../providers/errors.js';
import type { ClusterFacts, ClusterStatus } from '../providers/types.js';
import {
  SecretFormatError,
  nextSecretText,
  readPassword,
  readSecret,
  secretFormatOf,
  sensitiveParts,
  type SecretContent,
} from '../secrets/format.js';
import type { SecretFormat } from '../config/secret-formats.js';
import { CURRENT_CHANGED, PENDING_LOST, PENDING_TAKEN } from '../secrets/types.js';
import type { SecretVersion } from '../secrets/types.js';
import { RotationError } from './rotation-error.js';
import { MAX_GENERATIONS, generationTokens } from './token.js';
import { planStage } from './plan-stage.js';
import type { NextGeneration, ReadFact, StagePlan, StageView } from './plan-stage.js';
import type {
  RotationDeps,
  RotationErrorKind,
  RotationRequest,
  RotationResult,
  RotationStep,
  ConflictResolution,
  StepEvent,
  StepOutcome,
} from './types.js';

/**
 * How many data-plane logins the verify step tries, `pollInterval` apart, before it gives up.
 * Clusters apply a new password asynchronously: the first login after "ready" can still see the old one.
 */
export const VERIFY_ATTEMPTS = 5;

/** Status-poll errors that mean "ask again later", not "stop". */
const TRANSIENT_POLL_KINDS: readonly ErrorKind[] = ['busy', 'throttled', 'unknown-outcome'];

/** Reset errors after which the cloud certainly did not take the password. */
const DEFINITE_RESET_KINDS: readonly ErrorKind[] = [
  'busy',
  'throttled',
  'password-rejected',
  'precondition',
  'auth',
  'not-found',
  'bad-request',
];

/** A step's failure before it becomes a RotationError. */
interface Failure {
  kind: RotationErrorKind;
  detail?: string | undefined;
  httpStatus?: number | undefined;
  vendorCode?: string | undefined;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  conflictResolution?: ConflictResolution | undefined;
  /** The SecretStoreError code behind a `store` failure. */
  storeCode?: string | undefined;
  cause?: unknown;
}

/** SecretStoreError code of a store write refused because this run no longer holds the target's lease. */
export const LEASE_LOST = 'LeaseLost';

/** What this run knows of the version under AWSPENDING. */
interface PendingRecord {
  versionId: string;
  /**
   * Whether the cloud holds its password: certainly not (`no`: staged fresh by this run, or shown
   * refused), `maybe` (an earlier run or an unanswered reset may have sent it), or `yes` (the reset
   * was accepted, or the cluster accepts it). Nothing the cloud may hold is ever dropped.
   */
  applied: 'no' | 'maybe' | 'yes';
}

/** What stage's reads brought back that the plan does not look at: texts and the cluster's facts. */
interface StageReads {
  /** Every version read, by id: the plan names versions, carrying it out needs their texts. */
  versions: Map<string, SecretVersion>;
  cluster: ClusterFacts;
}

class StepFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind);
  }
}

/** What a step reports about itself, filled in by the step's body. */
interface StepInfo {
  outcome: StepOutcome;
  detail?: string;
  httpStatus?: number;
  requestId?: string;
}

type Login = 'accepted' | 'refused' | 'unknown';

/**
 * Rotates the password of one target, following rotation-protocol.md:
 * stage → ready → apply → settle → verify → promote.
 *
 * Re-entrant: everything a re-run needs is in the secret store, under version tokens derived from
 * (target id, rotation id, generation). Run again with the same rotation id after an interruption
 * at any point, it finishes the same rotation. Stage reads the store and the cluster one fact at a
 * time and lets planStage (plan-stage.ts) choose the case:
 * - the version of this rotation is already AWSCURRENT → nothing to do (`done`, `alreadyDone`);
 * - a pending version of this rotation exists → its password is reused, never replaced (`reuse`);
 * - a pending version of ANOTHER rotation exists (one that stopped with an alert) → its password is
 *   copied into this rotation's next version and rolled forward, because the cloud may hold it
 *   (`adopt`; `busy` while that version is younger than the orphan time);
 * - otherwise a fresh password is staged as the next generation (the previous one was rejected,
 *   `fresh`), unless a login shows that the cluster accepts the latest generation of ours: then
 *   that password is staged again as the next generation and rolled forward (`restage`).
 *
 * A reused pending version may already be on the cluster (the previous run may have crashed after
 * the reset). With a data-plane login configured, apply first logs in with it and skips the reset
 * when the cluster accepts it; otherwise it resets to the same password again, which is harmless
 * (the cloud sets the password it already has). A reused version is never dropped unless logins
 * show that the cluster still accepts the current password and refuses the pending one, again and
 * again for as long as verify waits for a password to land (a change in flight can lag "ready").
 *
 * Throws RotationError; the caller decides retry vs alert with decideRetry().
 */
export async function rotate(request: RotationRequest, deps: RotationDeps): Promise<RotationResult> {
  validateRequest(request);
  return new RotationRun(request, deps).run();
}

class RotationRun {
  private readonly events: StepEvent[] = [];
  /** Every password this run handled, for scrubbing errors. */
  private readonly secrets: string[] = [];
  private readonly targetId: string;
  private readonly secretId: string;
  private versionId: string | undefined;
  private generation: number | undefined;
  /**
   * The version under AWSPENDING as this run knows it: found or staged by stage (while adopting,
   * the other rotation's version until ours takes the label); gone once dropped or promoted.
   */
  private pending: PendingRecord | undefined;
  /** The password of this run's pending version. */
  private password: string | undefined;
  private current: SecretVersion | undefined;
  private appliedAt: number | undefined;
  /** The stage step has read the store's labels: `pending` reflects it. */
  private stateKnown = false;
  /** Set when promote met another writer and resolved it (see resolveConflict). */
  private conflict: RotationResult['conflict'];

  constructor(
    private readonly req: RotationRequest,
    private readonly deps: RotationDeps,
  ) {
    this.targetId = req.target.config.id;
    this.secretId = req.target.config.secret.id;
  }

  async run(): Promise<RotationResult> {
    const done = await this.step('stage', (info) => this.stage(info));
    if (done) return this.result(true);
    await this.step('ready', (info) => this.ready(info));
    const applied = await this.step('apply', (info) => this.apply(info));
    await this.step('settle', (info) => this.settle(info, applied));
    await this.step('verify', (info) => this.verify(info));
    await this.step('promote', (info) => this.promote(info));
    return this.result(false);
  }

  // --- steps -------------------------------------------------------------------------------------

  /** Returns true when this rotation was already promoted. */
  private async stage(info: StepInfo): Promise<boolean> {
    const view: StageView = {
      tokens: generationTokens(this.targetId, this.req.rotationId, this.req.timing.maxPasswordRejections),
      loginCheck: Boolean(this.deps.loginCheck),
      orphanAfterMs: this.deps.pendingOrphanAfterMs,
    };
    const reads: StageReads = { versions: new Map(), cluster: {} };
    for (;;) {
      const plan = planStage(view);
      switch (plan.case) {
        case 'read':
          await this.readFact(plan, view, reads, info);
          break;
        case 'done':
          this.versionId = plan.versionId;
          this.generation = plan.generation;
          info.outcome = 'skipped';
          info.detail =
            plan.label === 'current'
              ? 'this rotation is already promoted'
              : 'this rotation was promoted and has since been superseded';
          return true;
        case 'reuse':
          this.usePending(plan.versionId, plan.generation, reads.versions.get(plan.versionId)!.text, 'maybe');
          info.outcome = 'reused';
          info.detail = `reusing the pending password of generation ${plan.generation}`;
          return false;
        case 'restage':
          await this.restage(plan, reads.versions.get(plan.from)!, view.tokens, info);
          return false;
        case 'busy':
          throw new StepFailure({
            kind: 'busy',
            detail: `another writer's pending version ${plan.pending} is ${Math.round(plan.ageMs / 1000)}s old: busy until it finishes or is orphaned`,
            retryAfterMs: plan.retryAfterMs,
          });
        case 'adopt':
          await this.adopt(plan, reads.versions.get(plan.from)!, view.tokens, info);
          return false;
        case 'fresh':
          await this.fresh(plan, reads.cluster, view.tokens, info);
          return false;
      }
    }
  }

  /** Reads one fact of the stage view; every text read is registered for scrubbing at once. */
  private async readFact(need: ReadFact, view: StageView, reads: StageReads, info: StepInfo): Promise<void> {
    const { store } = this.deps;
    const keep = (version: SecretVersion | undefined): string | null => {
      if (!version) return null;
      // Not ours to rotate, maybe, but a password all the same: the caller's redactor must know it too.
      this.registerText(version.text);
      reads.versions.set(version.versionId, version);
      return version.versionId;
    };
    switch (need.fact) {
      case 'current': {
        const current = await this.storeCall('read the current version', () =>
          store.getCurrent(this.secretId),
        );
        this.current = current;
        view.current = keep(current);
        return;
      }
      case 'previous':
        view.previous = keep(
          await this.storeCall('read the previous version', () => store.getPrevious(this.secretId)),
        );
        return;
      case 'pending':
        view.pending = keep(
          await this.storeCall('read the pending version', () => store.getPending(this.secretId)),
        );
        this.stateKnown = true;
        return;
      case 'cluster':
        // Before anything is staged: a cluster whose password cannot be reset stops here.
        reads.cluster = await this.clusterFacts(info);
        view.cluster = true;
        return;
      case 'versions': {
        const found: number[] = [];
        for (const [generation, token] of view.tokens.entries()) {
          const v = await this.storeCall('read a version', () => store.getVersion(this.secretId, token));
          if (keep(v) !== null) found.push(generation);
        }
        view.versions = found;
        return;
      }
      case 'login': {
        const latest = reads.versions.get(need.versionId)!;
        const password = this.passwordOf(latest, `version ${latest.versionId} of this rotation`);
        view.login = (await this.login(password)).result;
        return;
      }
      case 'pending-age': {
        const versions = await this.storeCall('read the versions', () => store.describe(this.secretId));
        const createdAt = versions?.find((v) => v.versionId === view.pending)?.createdAt?.getTime();
        view.pendingAgeMs = createdAt === undefined ? null : this.deps.clock.now() - createdAt;
        return;
      }
    }
  }

  /** A generation of ours lost its pending label but the cluster accepts its password: stage it again. */
  private async restage(
    plan: Extract<StagePlan, { case: 'restage' }>,
    lost: SecretVersion,
    tokens: readonly string[],
    info: StepInfo,
  ): Promise<void> {
    const next = this.nextGeneration(plan.generation);
    const token = tokens[next]!;
    await this.storeCall('stage the password the cluster holds again', () =>
      this.deps.store.stagePending(this.secretId, token, lost.text, {
        description: this.description(),
        expectPending: null,
      }),
    );
    this.usePending(token, next, lost.text, 'maybe');
    info.outcome = 'reused';
    info.detail = `generation ${plan.fromGeneration} is no longer pending but the cluster accepts its password: staged it again as generation ${next}`;
  }

  /**
   * Another rotation stopped with this version pending: the cloud may hold it. Keep it alive by
   * rolling it forward under our own token (the same password), never by replacing it.
   */
  private async adopt(
    plan: Extract<StagePlan, { case: 'adopt' }>,
    pending: SecretVersion,
    tokens: readonly string[],
    info: StepInfo,
  ): Promise<void> {
    // Recorded before the version is read: if it is unreadable, the alert must still say that a
    // pending version the cloud may hold is left in the store.
    this.pending = { versionId: pending.versionId, applied: 'maybe' };
    this.passwordOf(pending, `the pending version ${pending.versionId} left by another rotation`);
    const next = this.nextGeneration(plan.generation);
    const token = tokens[next]!;
    // Taken by compare-and-set from that version only.
    await this.storeCall('stage the adopted pending version', () =>
      this.deps.store.stagePending(this.secretId, token, pending.text, {
        description: this.description(),
        expectPending: pending.versionId,
      }),
    );
    this.usePending(token, next, pending.text, 'maybe');
    info.outcome = 'reused';
    info.detail = `adopted the pending version ${pending.versionId} left by another rotation`;
  }

  /** Nothing pending: a fresh password, written into the current version in its format. */
  private async fresh(
    plan: Extract<StagePlan, { case: 'fresh' }>,
    facts: ClusterFacts,
    tokens: readonly string[],
    info: StepInfo,
  ): Promise<void> {
    const next = this.nextGeneration(plan.generation);
    // The new version is written into the current one: it must be readable in the configured format.
    const base = this.current ? this.read(this.current, 'the current version') : undefined;

    let password: string;
    try {
      password = this.deps.generatePassword(this.req.policy);
    } catch (err) {
      throw new StepFailure({
        kind: 'policy',
        detail: 'no compliant password could be generated',
        cause: err,
      });
    }
    if (typeof password !== 'string' || password.length === 0) {
      throw new StepFailure({ kind: 'policy', detail: 'the password generator returned no password' });
    }
    this.register(password);
    const text = this.secretText(base, password, facts);
    const token = tokens[next]!;
    this.versionId = token;
    this.generation = next;
    await this.storeCall('stage the pending version', () =>
      this.deps.store.stagePending(this.secretId, token, text, {
        description: this.description(),
        expectPending: null,
      }),
    );
    this.usePending(token, next, text, 'no');
    info.detail = next === 0 ? 'staged a new password' : `staged a new password (generation ${next})`;
  }

  private async ready(info: StepInfo): Promise<void> {
    const { timing } = this.req;
    // A reused version may have been applied by a crashed run: the cluster may be busy with OUR
    // reset, so give it as long as settling would take.
    const timeout =
      this.pending!.applied === 'maybe'
        ? Math.max(timing.readyTimeout, timing.settleTimeout)
        : timing.readyTimeout;
    const polls = await this.waitUntilReady('ready-timeout', timeout, 0, info);
    info.detail = polls === 1 ? 'cluster ready' : `cluster ready after ${polls} polls`;
  }

  /** Returns false when the reset was skipped because the cluster already holds the password. */
  private async apply(info: StepInfo): Promise<boolean> {
    const pending = this.pending!;
    const password = this.password!;
    // `maybe` here: the version was found in the store, and an earlier run may have sent it.
    const before = pending.applied;
    if (before === 'maybe' && this.deps.loginCheck) {
      const login = await this.login(password);
      if (login.result === 'accepted') {
        pending.applied = 'yes';
        info.outcome = 'skipped';
        info.detail = 'the cluster already accepts the pending password';
        return false;
      }
    }
    pending.applied = 'maybe';
    const { provider } = this.deps;
    try {
      const res = await provider.reset(this.req.target, password, this.callOptions());
      pending.applied = 'yes';
      this.appliedAt = this.deps.clock.now();
      info.httpStatus = res.status;
      if (res.requestId !== undefined) info.requestId = res.requestId;
      info.detail = before === 'maybe' ? 'reset accepted (same pending password again)' : 'reset accepted';
      return true;
    } catch (err) {
      if (this.deps.signal?.aborted) throw err;
      if (!isProviderError(err)) {
        // The request may have left: treat like a timeout.
        throw new StepFailure({
          kind: 'unknown-outcome',
          detail: 'the reset call failed unexpectedly',
          cause: err,
        });
      }
      if (DEFINITE_RESET_KINDS.includes(err.kind)) pending.applied = before;
      if (err.kind === 'password-rejected') return this.rejected(err, info);
      throw new StepFailure({
        ...providerFields(err),
        detail: `the reset call failed: ${describeProviderError(err)}`,
        cause: err,
      });
    }
  }

  /**
   * The cloud refused the pending password. Drop it only when the cloud certainly does not hold it.
   *
   * When an earlier run may have sent it, a single login is no proof: a cluster applies a reset
   * asynchronously and can report ready while its data plane still takes the old password (see
   * verify). So the login pair (pending refused, current accepted) must hold for as long as verify
   * would wait for the new password to land: VERIFY_ATTEMPTS logins, `pollInterval` apart. If the
   * pending password is accepted on any of them, the cluster has it and the run goes on to promote.
   */
  private async rejected(err: Error & { kind: ErrorKind }, info: StepInfo): Promise<boolean> {
    const fields = providerFields(err);
    const pending = this.pending!;
    if (pending.applied !== 'no') {
      const keep = (detail: string): never => {
        throw new StepFailure({ ...fields, detail, cause: err });
      };
      // A previous run may have set this password already. Ask the data plane, when we can.
      if (!this.deps.loginCheck)
        keep('the cloud rejected the pending password, which an earlier run may have applied');
      for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
        const onPending = await this.login(this.password!);
        if (onPending.result === 'accepted') {
          pending.applied = 'yes';
          info.detail =
            'the cloud refused to set the pending password again, but the cluster already accepts it';
          return false;
        }
        const currentPassword = this.current ? this.readable(this.current)?.password : undefined;
        const current =
          onPending.result === 'refused' && currentPassword !== undefined
            ? await this.login(currentPassword)
            : undefined;
        if (current?.result !== 'accepted') {
          keep(
            'the cloud rejected the pending password and the login could not show which password the cluster holds',
          );
        }
        if (attempt < VERIFY_ATTEMPTS)
          await this.deps.clock.sleep(this.req.timing.pollInterval, this.deps.signal);
      }
      // The cluster kept taking the current password and refusing the pending one for as long as a
      // change in flight takes to land: it never got it.
      pending.applied = 'no';
    }
    await this.storeCall('drop the rejected pending version', () =>
      this.deps.store.dropPending(this.secretId, this.versionId!),
    );
    this.pending = undefined;
    throw new StepFailure({
      ...fields,
      detail: `the cloud rejected the password of generation ${this.generation}; dropped it, a re-run stages a new one`,
      cause: err,
    });
  }

  private async settle(info: StepInfo, applied: boolean): Promise<void> {
    if (!applied) {
      info.outcome = 'skipped';
      info.detail = 'no reset was sent';
      return;
    }
    const { timing } = this.req;
    const elapsed = this.deps.clock.now() - (this.appliedAt ?? this.deps.clock.now());
    const timeout = Math.max(0, timing.settleTimeout - elapsed);
    // Let the cloud start the change before the first poll: right after the reset it may still say ready.
    const polls = await this.waitUntilReady(
      'settle-timeout',
      timeout,
      Math.min(timing.pollInterval, timeout),
      info,
    );
    info.detail = `cluster settled after ${polls} ${polls === 1 ? 'poll' : 'polls'}`;
  }

  private async verify(info: StepInfo): Promise<void> {
    if (!this.deps.loginCheck) {
      info.outcome = 'skipped';
      info.detail = 'no data-plane check configured';
      return;
    }
    let last: { result: Login; error?: unknown } = { result: 'unknown' };
    for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
      last = await this.login(this.password!);
      if (last.result === 'accepted') {
        info.detail = attempt === 1 ? 'login accepted' : `login accepted at attempt ${attempt}`;
        return;
      }
      if (attempt < VERIFY_ATTEMPTS)
        await this.deps.clock.sleep(this.req.timing.pollInterval, this.deps.signal);
    }
    throw new StepFailure({
      kind: 'verify-failed',
      detail:
        last.result === 'refused'
          ? `the data-plane login refused the new password ${VERIFY_ATTEMPTS} times`
          : `the data-plane login failed ${VERIFY_ATTEMPTS} times`,
      cause: last.error,
    });
  }

  private async promote(info: StepInfo): Promise<void> {
    // Compare-and-set: only while our version holds AWSPENDING and AWSCURRENT is what stage read.
    const expectCurrent = this.current?.versionId ?? null;
    try {
      await this.storeCall('promote the pending version', () =>
        this.deps.store.promote(this.secretId, this.versionId!, { expectCurrent }),
      );
    } catch (err) {
      const code = err instanceof StepFailure ? err.failure.storeCode : undefined;
      if (code !== CURRENT_CHANGED && code !== PENDING_LOST) throw err;
      await this.resolveConflict(info, (err as StepFailure).failure.detail ?? 'promote refused');
      return;
    }
    this.pending = undefined;
    info.detail = 'pending version is now current';
  }

  /**
   * Promote was refused: another writer moved AWSCURRENT or took our AWSPENDING since stage. Never
   * retried blindly. Find out which password the cluster holds and make the store say so:
   * - the store's current is our password (a writer adopted ours and promoted it): done;
   * - with a data-plane login: the cluster takes the store's current → done; it takes ours →
   *   promote ours over the new current (compare-and-set again);
   * - otherwise (no login, or neither password logs in) the run stops with kind `conflict` and
   *   resolution `fresh-rotation`: the caller starts a new rotation, which re-applies the store's
   *   pending value (or a fresh one) and promotes what it applied.
   * Either way the caller alerts with what was done.
   */
  private async resolveConflict(info: StepInfo, why: string): Promise<void> {
    const { store } = this.deps;
    const ours = this.password!;
    const current = await this.storeCall('read the current version after a conflict', () =>
      store.getCurrent(this.secretId),
    );
    if (current) this.registerText(current.text);
    // The store's current as a password, when it is readable in the configured format.
    const currentPassword = current ? this.readable(current)?.password : undefined;
    const done = (resolution: Exclude<ConflictResolution, 'fresh-rotation'>, detail: string) => {
      this.pending = undefined;
      this.conflict = { resolution, detail: this.clean(detail) };
      info.outcome = 'skipped';
      info.detail = detail;
    };
    if (current && currentPassword === ours) {
      return done(
        'store-matches',
        `${why}; another writer promoted the same password (version ${current.versionId}): store and cluster agree`,
      );
    }
    if (this.deps.loginCheck) {
      const onCurrent = currentPassword !== undefined ? await this.login(currentPassword) : undefined;
      if (onCurrent?.result === 'accepted') {
        return done(
          'store-matches',
          `${why}; the cluster accepts the store's current version ${current!.versionId}: store and cluster agree, this run's password was not kept`,
        );
      }
      const onOurs = await this.login(ours);
      if (onOurs.result === 'accepted') {
        try {
          await this.deps.store.promote(this.secretId, this.versionId!, {
            expectCurrent: current?.versionId ?? null,
          });
          return done(
            'promoted',
            `${why}; the cluster accepts this run's password: promoted it over version ${current?.versionId ?? '(none)'}`,
          );
        } catch {
          // Refused again, or the store failed: a fresh rotation settles it.
        }
      }
    }
    // Only a successful read may clear the flag: after a failed one, our applied version may still
    // be pending, and the alert must say so.
    const pending = await this.deps.store.getPending(this.secretId).catch(() => null);
    if (pending !== null && pending?.versionId !== this.versionId) this.pending = undefined;
    throw new StepFailure({
      kind: 'conflict',
      conflictResolution: 'fresh-rotation',
      detail: `${why}; could not tell which password the cluster holds: a fresh rotation re-applies the store's pending value (or a new password) and promotes it`,
    });
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** Polls status until ready (or until `until` accepts an answer). Returns the number of polls. */
  private async waitUntilReady(
    timeoutKind: 'ready-timeout' | 'settle-timeout',
    timeoutMs: number,
    initialDelayMs: number,
    info: StepInfo,
    until: (status: ClusterStatus) => boolean = (s) => s.state === 'ready',
  ): Promise<number> {
    const { clock, provider, signal } = this.deps;
    const { pollInterval } = this.req.timing;
    const deadline = clock.now() + timeoutMs;
    if (initialDelayMs > 0) await clock.sleep(initialDelayMs, signal);
    // Bounded by time, and by count in case a clock does not move.
    const maxPolls = Math.ceil(timeoutMs / pollInterval) + 3;
    let lastDetail = 'no answer';
    let lastError: unknown;
    for (let poll = 1; ; poll++) {
      signal?.throwIfAborted();
      let wait = pollInterval;
      let status: ClusterStatus | undefined;
      try {
        status = await provider.status(this.req.target, this.callOptions());
      } catch (err) {
        if (signal?.aborted) throw err;
        if (isProviderError(err) && !TRANSIENT_POLL_KINDS.includes(err.kind)) {
          throw new StepFailure({ ...providerFields(err), detail: 'the status call failed', cause: err });
        }
        lastError = err;
        lastDetail = isProviderError(err) ? `status call: ${err.kind}` : 'status call failed';
        if (isProviderError(err) && err.retryAfterMs !== undefined) wait = Math.max(wait, err.retryAfterMs);
      }
      if (status?.requestId !== undefined) info.requestId = status.requestId;
      if (status && until(status)) return poll;
      if (status?.state === 'failed') {
        throw new StepFailure({
          kind: 'cluster-failed',
          detail: `the cluster cannot take operations: ${this.clean(status.detail)}`,
          requestId: status.requestId,
        });
      }
      if (status?.state === 'busy') lastDetail = `cluster busy: ${this.clean(status.detail)}`;
      const left = deadline - clock.now();
      if (left <= 0 || poll >= maxPolls) {
        throw new StepFailure({
          kind: timeoutKind,
          detail: `not ready after ${Math.round(timeoutMs / 1000)}s (${poll} polls; last: ${lastDetail})`,
          cause: lastError,
        });
      }
      await clock.sleep(Math.min(wait, left), signal);
    }
  }

  private async login(password: string): Promise<{ result: Login; error?: unknown }> {
    try {
      const ok = await this.deps.loginCheck!(password, this.deps.signal);
      return { result: ok ? 'accepted' : 'refused' };
    } catch (error) {
      if (this.deps.signal?.aborted) throw error;
      return { result: 'unknown', error };
    }
  }

  private async storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (this.deps.signal?.aborted) throw err;
      const isStoreError = err instanceof Error && err.name === 'SecretStoreError';
      const storeKind = isStoreError ? (err as { kind?: unknown }).kind : undefined;
      const code = isStoreError ? (err as { code?: unknown }).code : undefined;
      if (code === PENDING_TAKEN || code === LEASE_LOST) {
        // Another writer holds the target (its pending version, or our lease): busy, not broken.
        throw new StepFailure({
          kind: 'busy',
          detail: `could not ${what}: ${code === LEASE_LOST ? 'this run lost the target lease to another run' : 'another writer holds the pending version'}`,
          cause: err,
        });
      }
      throw new StepFailure({
        kind: 'store',
        detail: `could not ${what}${typeof storeKind === 'string' ? ` (${storeKind})` : ''}`,
        storeCode: typeof code === 'string' ? code : undefined,
        cause: err,
      });
    }
  }

  /**
   * Takes `versionId` as this run's pending version. A version found in the store is `maybe`
   * applied: we cannot know from the store whether an earlier run sent its password, so assume it did.
   */
  private usePending(versionId: string, generation: number, text: string, applied: 'no' | 'maybe'): void {
    this.registerText(text);
    this.versionId = versionId;
    this.generation = generation;
    this.pending = { versionId, applied };
    this.password = this.passwordOf({ versionId, text }, `the pending version of generation ${generation}`);
  }

  /**
   * One status read before anything is staged (transient errors are polled again, like any status
   * poll): a cluster whose password cannot be reset stops the rotation here, with nothing staged.
   */
  private async clusterFacts(info: StepInfo): Promise<ClusterFacts> {
    let facts: ClusterStatus | undefined;
    await this.waitUntilReady('ready-timeout', this.req.timing.readyTimeout, 0, info, (status) => {
      facts = status;
      return status.state !== 'failed';
    });
    if (facts?.securityMode === false) {
      throw new StepFailure({
        kind: 'precondition',
        detail: 'cluster not in security mode: its password cannot be reset (nothing was staged)',
        requestId: facts.requestId,
      });
    }
    return facts ?? {};
  }

  /** A version read in the configured format; a value that is not readable stops the rotation. */
  private read(version: SecretVersion, what: string): SecretContent {
    return this.readWith(readSecret, version, what);
  }

  /** The password of a version that must hold one (a version the rotator staged). */
  private passwordOf(version: SecretVersion, what: string): string {
    return this.readWith(readPassword, version, what);
  }

  private readWith<T>(
    reader: (text: string, format: SecretFormat) => T,
    version: SecretVersion,
    what: string,
  ): T {
    const format = secretFormatOf(this.req.target.config);
    try {
      return reader(version.text, format);
    } catch (err) {
      if (!(err instanceof SecretFormatError)) throw err;
      throw new StepFailure({
        kind: 'secret-unreadable',
        detail: `secret ${this.secretId}: ${what} (version ${version.versionId}) is not readable as ${format}: found ${err.found}`,
      });
    }
  }

  /** The version read in the configured format, or undefined when it is not readable. */
  private readable(version: SecretVersion): SecretContent | undefined {
    try {
      return readSecret(version.text, secretFormatOf(this.req.target.config));
    } catch {
      return undefined;
    }
  }

  /** The generation a plan stages; none left stops the rotation. */
  private nextGeneration(generation: NextGeneration): number {
    if (generation === 'exhausted') {
      throw new StepFailure({
        kind: 'rejections-exhausted',
        detail: `the cloud rejected ${this.req.timing.maxPasswordRejections} generated passwords`,
      });
    }
    return generation;
  }

  private register(password: string): void {
    if (!this.secrets.includes(password)) this.secrets.push(password);
    this.deps.registerSecret?.(password);
  }

  /** A version's whole text and the password in it, whatever the format: either could be echoed. */
  private registerText(text: string): void {
    for (const part of sensitiveParts(text)) this.register(part);
  }

  /**
   * The text of the new version: the password written into the current version (`base`), every
   * other field kept; or a new secret. An explicit `secret.username` wins over the cluster's own user.
   */
  private secretText(base: SecretContent | undefined, password: string, facts: ClusterFacts): string {
    const { config } = this.req.target;
    const extra: Record<string, string> = { targetId: config.id, region: config.region };
    if (config.clusterId !== undefined) extra.clusterId = config.clusterId;
    if (config.projectId !== undefined) extra.projectId = config.projectId;
    if (config.serviceGroupInstanceNo !== undefined)
      extra.serviceGroupInstanceNo = config.serviceGroupInstanceNo;
    if (config.dataPlane?.url !== undefined) extra.host = config.dataPlane.url;
    return nextSecretText(secretFormatOf(config), base, password, {
      username: config.secret.username ?? facts.managerUser ?? this.deps.provider.defaultUsername,
      engine: this.deps.provider.id,
      extra,
    });
  }

  private description(): string {
    return `secret-rotator: ${this.deps.provider.id} password of target ${this.targetId}`;
  }

  private callOptions(): { signal?: AbortSignal; timeoutMs: number } {
    const opts: { signal?: AbortSignal; timeoutMs: number } = { timeoutMs: this.req.timing.requestTimeout };
    if (this.deps.signal) opts.signal = this.deps.signal;
    return opts;
  }

  private clean(text: string): string {
    return scrubberOf(this.secrets).scrub(text).slice(0, 200);
  }

  /** Runs one step, reports it through onStep, and turns any failure into a RotationError. */
  private async step<T>(step: RotationStep, body: (info: StepInfo) => Promise<T>): Promise<T> {
    const startedAt = this.deps.clock.now();
    const info: StepInfo = { outcome: 'ok' };
    let value: T;
    try {
      this.deps.signal?.throwIfAborted();
      value = await body(info);
    } catch (err) {
      const failure = this.toFailure(err);
      const event = this.event(step, startedAt, {
        outcome: 'failed',
        detail: failure.detail,
        httpStatus: failure.httpStatus,
        requestId: failure.requestId,
      });
      event.errorKind = failure.kind;
      if (failure.vendorCode !== undefined) event.vendorCode = failure.vendorCode;
      this.events.push(event);
      try {
        await this.deps.onStep?.(event);
      } catch {
        // The step's own failure is the one to report.
      }
      throw this.error(step, failure);
    }
    const event = this.event(step, startedAt, info);
    this.events.push(event);
    try {
      await this.deps.onStep?.(event);
      this.deps.signal?.throwIfAborted();
    } catch (err) {
      const failure = this.toFailure(err);
      throw this.error(step, {
        ...failure,
        detail: failure.kind === 'aborted' ? failure.detail : `the step succeeded but onStep failed`,
      });
    }
    return value;
  }

  private toFailure(err: unknown): Failure {
    if (this.deps.signal?.aborted) {
      return { kind: 'aborted', detail: 'the rotation was aborted; re-run to continue', cause: err };
    }
    if (err instanceof StepFailure) return err.failure;
    if (isProviderError(err))
      return { ...providerFields(err), detail: describeProviderError(err), cause: err };
    return { kind: 'internal', detail: 'unexpected error', cause: err };
  }

  private event(
    step: RotationStep,
    startedAt: number,
    info: {
      outcome: StepOutcome;
      detail?: string | undefined;
      httpStatus?: number | undefined;
      requestId?: string | undefined;
    },
  ): StepEvent {
    const event: StepEvent = {
      rotationId: this.req.rotationId,
      targetId: this.targetId,
      step,
      outcome: info.outcome,
      startedAt,
      durationMs: this.deps.clock.now() - startedAt,
    };
    if (this.versionId !== undefined) event.versionId = this.versionId;
    if (info.httpStatus !== undefined) event.httpStatus = info.httpStatus;
    if (info.requestId !== undefined) event.requestId = info.requestId;
    if (info.detail !== undefined) event.detail = this.clean(info.detail);
    return event;
  }

  private error(step: RotationStep, f: Failure): RotationError {
    return new RotationError({
      kind: f.kind,
      step,
      rotationId: this.req.rotationId,
      targetId: this.targetId,
      steps: [...this.events],
      versionId: this.versionId,
      generation: this.generation,
      pendingMayBeApplied: this.pending !== undefined && this.pending.applied !== 'no',
      storeStateKnown: this.stateKnown,
      httpStatus: f.httpStatus,
      vendorCode: f.vendorCode === undefined ? undefined : this.clean(f.vendorCode),
      requestId: f.requestId,
      retryAfterMs: f.retryAfterMs,
      conflictResolution: f.conflictResolution,
      detail: f.detail === undefined ? undefined : this.clean(f.detail),
      cause: scrubberOf(this.secrets).scrubError(f.cause),
    });
  }

  private result(alreadyDone: boolean): RotationResult {
    return {
      rotationId: this.req.rotationId,
      targetId: this.targetId,
      versionId: this.versionId!,
      alreadyDone,
      steps: [...this.events],
      ...(this.conflict ? { conflict: this.conflict } : {}),
    };
  }
}

function providerFields(err: unknown): Failure {
  if (!isProviderError(err)) return { kind: 'internal' };
  return {
    kind: err.kind,
    httpStatus: err.status,
    vendorCode: err.vendorCode,
    requestId: err.requestId,
    retryAfterMs: err.retryAfterMs,
  };
}

/**
 * A ProviderError in a few words: kind, HTTP status, vendor code (or, without an answer, what
 * happened on our side). Never the vendor's message or the error's own message: a remote error
 * body can echo the password that was sent.
 */
function describeProviderError(err: {
  kind: ErrorKind;
  status?: number | undefined;
  vendorCode?: string | undefined;
  detail?: string | undefined;
}): string {
  const parts: string[] = [err.kind];
  if (err.status !== undefined) parts.push(`HTTP ${err.status}`);
  if (err.vendorCode) parts.push(`code ${err.vendorCode}`);
  // Our side's own account (timeout, connection reset), written by the provider, not the cloud.
  if (err.status === undefined && err.detail) parts.push(err.detail.slice(0, 100));
  return parts.join(', ');
}

function validateRequest(req: RotationRequest): void {
  const problems: string[] = [];
  const positive = (name: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      problems.push(`timing.${name}: must be a positive number of ms`);
  };
  if (typeof req.rotationId !== 'string' || req.rotationId.length === 0) {
    problems.push('rotationId: must be a non-empty string');
  }
  const config = req.target?.config;
  if (!config || typeof config.id !== 'string' || config.id.length === 0) {
    problems.push('target.config.id: must be a non-empty string');
  }
  if (!config?.secret || typeof config.secret.id !== 'string' || config.secret.id.length === 0) {
    problems.push('target.config.secret.id: must be a non-empty string');
  }
  const t = req.timing;
  if (!t) {
    problems.push('timing: required');
  } else {
    positive('readyTimeout', t.readyTimeout);
    positive('settleTimeout', t.settleTimeout);
    positive('pollInterval', t.pollInterval);
    positive('requestTimeout', t.requestTimeout);
    const m = t.maxPasswordRejections;
    if (!Number.isInteger(m) || m < 1 || m > MAX_GENERATIONS) {
      problems.push(`timing.maxPasswordRejections: must be an integer from 1 to ${MAX_GENERATIONS}`);
    }
  }
  if (problems.length > 0) throw new TypeError(`invalid rotation request: ${problems.join('; ')}`);
}
