import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { AuditEvent, AuditSink } from '../src/audit/types.js';
import type { RetryConfig, RotationTiming, TargetConfig } from '../src/config/schema.js';
import type { Clock } from '../src/core/clock.js';
import type { Scrubber } from '../src/log/scrubber.js';
import type { PasswordPolicy } from '../src/policy/types.js';
import type { Provider, ProviderTarget } from '../src/providers/types.js';
import type { TargetStateStore } from '../src/queue/target-state.js';
import { isProviderError } from '../src/providers/errors.js';
import { isRotationError, RotationError } from '../src/rotation/rotation-error.js';
import type {
  LoginCheck,
  RotationDeps,
  RotationErrorKind,
  RotationRequest,
  RotationResult,
  StepEvent,
} from '../src/rotation/types.js';
import type { SecretStore } from '../src/secrets/types.js';
import type { Alert } from '../src/alerts/types.js';
import type { RotateJobData, RotateJobResult } from '../src/queue/definitions.js';
import { ALERT_SEVERITY, ALERT_SUMMARY, buildAlerts } from './alerts.js';
import { createJobLogBuffer } from './job-log.js';
import { nextStep } from './retry.js';
import { deadline } from '../src/util/deadline.js';
import type { RotationTrace, RotationTracer } from '../src/telemetry/tracing.js';
import type { Lease, TargetLeases } from '../src/queue/lease.js';
import { fenceProvider, fenceStore } from './fence.js';

/** Everything about one target that does not change between jobs: prepared once at start. */
export interface PreparedTarget {
  config: TargetConfig;
  providerTarget: ProviderTarget;
  /** Already wrapped with the per-account rate limit. */
  provider: Provider;
  policy: PasswordPolicy;
  timing: RotationTiming;
  retry: RetryConfig;
  loginCheck?: LoginCheck;
}

/** The logger methods the worker uses (pino's Logger has them). */
export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RotateTargetContext {
  targets: ReadonlyMap<string, PreparedTarget>;
  store: SecretStore;
  clock: Clock;
  rotate: (request: RotationRequest, deps: RotationDeps) => Promise<RotationResult>;
  /** A draw in [0, 1) for the backoff's full jitter. */
  random: () => number;
  generatePassword: (policy: PasswordPolicy) => string;
  /**
   * Starts a run's registration of passwords for scrubbing; returns the function that registers
   * one. The worker keeps what a target's current and previous runs registered (TargetSecrets).
   */
  registerSecrets: (targetId: string) => (value: string) => void;
  audit: AuditSink;
  /** Sends an alert; never throws (a failing sink is the alerter's business). */
  alert: (alert: Alert) => Promise<void>;
  state: TargetStateStore;
  logger: WorkerLogger;
  /** Fires when the worker shuts down: the rotation stops at the next safe point. */
  shutdownSignal: AbortSignal;
  /** Removes live secrets from text that did not come from the rotation core (unexpected errors). */
  scrub?: Scrubber['scrub'];
  /**
   * Appends rows to a job's log in one round trip (the runtime RPUSHes to the job's log list).
   * Without it, rows go through `job.log`, one call each.
   */
  writeJobLog?: (jobId: string, rows: string[]) => Promise<unknown>;
  /** How long a job log line may wait to be written with the ones after it (default 1 s). */
  jobLogIntervalMs?: number;
  /** Test hook: awaited after each step's audit record (crash tests kill the process here). */
  afterStep?: (event: StepEvent) => Promise<void> | void;
  /**
   * Per-target leases: a run holds its target's lease for its whole life and checks it before every
   * store write and reset; a run that finds the lease taken is deferred (busy, no alert). Another
   * writer's pending version is adopted only once older than the lease time.
   */
  leases?: TargetLeases;
  /** OpenTelemetry spans of each run and step (only when tracing is on). */
  tracer?: RotationTracer;
}

/** The logger with `fields` on every line (the trace id of a run). */
function withFields(logger: WorkerLogger, fields: object): WorkerLogger {
  return {
    info: (obj, msg) => logger.info({ ...obj, ...fields }, msg),
    warn: (obj, msg) => logger.warn({ ...obj, ...fields }, msg),
    error: (obj, msg) => logger.error({ ...obj, ...fields }, msg),
  };
}

/** The longest one run of a rotation may take before it is aborted and retried. */
export function rotationTimeoutMs(timing: RotationTiming): number {
  return timing.readyTimeout + timing.settleTimeout + 6 * timing.requestTimeout;
}

function stepLine(e: StepEvent): string {
  const parts = [`${e.step} ${e.outcome}`];
  if (e.httpStatus !== undefined) parts.push(`http=${e.httpStatus}`);
  if (e.vendorCode) parts.push(`code=${e.vendorCode}`);
  if (e.requestId) parts.push(`request=${e.requestId}`);
  if (e.versionId) parts.push(`version=${e.versionId}`);
  if (e.errorKind) parts.push(`error=${e.errorKind}`);
  parts.push(`${e.durationMs}ms`);
  if (e.detail) parts.push(`(${e.detail})`);
  return parts.join(' ');
}

/**
 * The processor of the rotations queue. One run calls the re-entrant rotation core once; on
 * failure the decision helper says retry (the job is moved back to delayed with its counters, same
 * job id, so the same rotation id and pending password) or stop (UnrecoverableError, plus alerts).
 *
 * Why moveToDelayed + DelayedError rather than BullMQ's `attempts` with a custom backoff strategy:
 * our retry budget is not one counter. Busy answers spend a time budget, rejected passwords a count
 * of their own, other transient failures the target's `retry.attempts`; Retry-After sets the delay.
 * The processor keeps these counters in the job data (ids and numbers only) and decides itself.
 * The job keeps its id and its deduplication key while delayed, so no second rotation of the target
 * can be enqueued meanwhile.
 */
export function createRotateTargetProcessor(ctx: RotateTargetContext) {
  async function processRotateTarget(
    job: Job<RotateJobData, RotateJobResult>,
    token?: string,
  ): Promise<RotateJobResult> {
    if (!job.id) throw new UnrecoverableError('rotation job without an id');
    // A conflict that needs a fresh rotation starts the next round: same job, new rotation id.
    const rotationId = job.data.round ? `${job.id}-round-${job.data.round}` : job.id;
    const target = ctx.targets.get(job.data.targetId);
    if (!target) {
      ctx.logger.warn({ targetId: job.data.targetId, rotationId }, 'rotation of a target not in the config');
      throw new UnrecoverableError(`target ${job.data.targetId} is not in this worker's config`);
    }
    let lease: Lease | undefined;
    let leaseError: unknown;
    if (ctx.leases) {
      const attempt = await ctx.leases.acquire(target.config.id, rotationId).catch((err: unknown) => {
        // Redis failed: handled (and alerted) like a start that could not be recorded.
        leaseError = err;
        return undefined;
      });
      if (attempt && !attempt.acquired) {
        // Another run of this target is alive (whatever let it start): come back when its lease
        // may have ended. Busy, not a failure: no counter spent, no alert.
        const delayMs = Math.min(attempt.retryInMs, ctx.leases.ttlMs) + Math.floor(ctx.random() * 1_000);
        ctx.logger.info(
          { targetId: target.config.id, rotationId, delayMs },
          'another run holds the target lease: rotation deferred',
        );
        await job.moveToDelayed(ctx.clock.now() + delayMs, token);
        throw new DelayedError();
      }
      lease = attempt?.lease;
    }
    try {
      return await runWithLease(job, token, rotationId, target, lease, leaseError);
    } finally {
      await lease?.release().catch(() => undefined);
    }
  }

  async function runWithLease(
    job: Job<RotateJobData, RotateJobResult>,
    token: string | undefined,
    rotationId: string,
    target: PreparedTarget,
    lease: Lease | undefined,
    leaseError: unknown,
  ): Promise<RotateJobResult> {
    const trace: RotationTrace | undefined = ctx.tracer?.start({
      targetId: target.config.id,
      provider: target.config.provider,
      rotationId,
      attempt: job.data.attempt + 1,
      trigger: job.data.trigger,
      ...(job.data.traceparent ? { traceparent: job.data.traceparent } : {}),
    });
    const logger = trace ? withFields(ctx.logger, { traceId: trace.traceId }) : ctx.logger;
    const data: RotateJobData = {
      ...job.data,
      attempt: job.data.attempt + 1,
      ...(trace && !job.data.traceparent ? { traceparent: trace.traceparent } : {}),
    };
    const base = {
      rotationId,
      targetId: target.config.id,
      provider: target.config.provider,
      trigger: data.trigger,
      actor: data.actor,
      ...(data.reason !== undefined ? { reason: data.reason } : {}),
      attempt: data.attempt,
    } satisfies Partial<AuditEvent>;
    try {
      if (leaseError !== undefined) throw leaseError;
      // Inside the try: a Redis failure here is a start that could not be recorded (and alerted).
      await job.updateData(data);
      await ctx.state.recordRunning(target.config.id, rotationId);
      await ctx.audit.append({ ...base, type: 'rotation-started' });
    } catch (err) {
      // Nothing has been changed yet, and no rotation runs unaudited: stop this one and tell a human
      // (the pending version of an earlier run, if any, is rolled forward by the next rotation).
      const error = ctx.scrub ? ctx.scrub(String((err as Error)?.message ?? err)) : 'unavailable';
      logger.error({ targetId: target.config.id, rotationId, error }, 'rotation start could not be recorded');
      // Nothing was changed by THIS run; an earlier run of the same rotation may have staged and
      // even applied a password: say so, and say where it is.
      const retry = data.attempt > 1;
      const what = retry
        ? `this retry changed nothing, but an earlier run of this rotation may have staged a pending password and the cloud may already hold it (secret ${target.config.secret.id}, label AWSPENDING): check it against the cluster, or let the pending sweep finish it`
        : 'nothing was changed';
      await ctx.alert({
        key: `${target.config.id}:final-failure`,
        severity: 'critical',
        reason: 'final-failure',
        targetId: target.config.id,
        provider: target.config.provider,
        rotationId,
        summary: `${target.config.id}: the start of the rotation could not be recorded (Redis or the audit trail failed); ${what}`,
        details: { step: 'start', error, attempt: data.attempt, pendingMayBeApplied: retry },
        at: ctx.clock.now(),
      });
      trace?.end('failed', 'internal');
      throw new UnrecoverableError(
        `rotation start could not be recorded: ${retry ? 'a pending password may be left' : 'nothing was changed'}`,
      );
    }
    const logs = createJobLogBuffer(
      (rows) =>
        ctx.writeJobLog
          ? ctx.writeJobLog(rotationId, rows)
          : rows.reduce((p, row) => p.then(() => job.log(row)), Promise.resolve(0)),
      (err) =>
        logger.warn(
          { targetId: target.config.id, rotationId, error: errorSummary(err, ctx.scrub) },
          'job log lines could not be written',
        ),
      ctx.jobLogIntervalMs,
    );
    logs.add(
      `attempt ${data.attempt} started (trigger ${data.trigger} by ${data.actor}` +
        `${data.reason !== undefined ? `, reason ${JSON.stringify((ctx.scrub ?? String)(data.reason))}` : ''})`,
    );

    // The run stops at its next safe point on shutdown, or when its lease was lost.
    const stop = new AbortController();
    const onShutdown = () => stop.abort(ctx.shutdownSignal.reason);
    if (ctx.shutdownSignal.aborted) onShutdown();
    else ctx.shutdownSignal.addEventListener('abort', onShutdown, { once: true });
    let leaseLost = false;
    const renewal =
      lease && ctx.leases
        ? setInterval(
            () => {
              lease.renew().then(
                (held) => {
                  if (held || leaseLost) return;
                  leaseLost = true;
                  logger.warn({ targetId: target.config.id, rotationId }, 'target lease lost');
                  stop.abort(new Error('target lease lost'));
                },
                // A Redis hiccup: the fence decides at the next write.
                () => undefined,
              );
            },
            Math.max(250, Math.floor(ctx.leases.ttlMs / 3)),
          )
        : undefined;
    renewal?.unref();
    const limit = deadline(rotationTimeoutMs(target.timing), stop.signal);
    const signal = limit.signal;
    const check = lease ? () => lease.check() : undefined;
    const deps: RotationDeps = {
      provider: check ? fenceProvider(target.provider, check) : target.provider,
      store: check ? fenceStore(ctx.store, check) : ctx.store,
      ...(ctx.leases ? { pendingOrphanAfterMs: ctx.leases.ttlMs } : {}),
      clock: ctx.clock,
      generatePassword: ctx.generatePassword,
      registerSecret: ctx.registerSecrets(target.config.id),
      signal,
      onStep: async (event) => {
        // The audit record is durable before the rotation moves on; the job log line follows in a batch.
        logs.add(stepLine(event));
        trace?.step(event);
        await ctx.audit.append({
          ...base,
          type: 'step',
          step: event.step,
          outcome: event.outcome,
          errorKind: event.errorKind,
          httpStatus: event.httpStatus,
          vendorCode: event.vendorCode,
          requestId: event.requestId,
          versionId: event.versionId,
          durationMs: event.durationMs,
          detail: event.detail,
        });
        await ctx.afterStep?.(event);
      },
      ...(target.loginCheck ? { loginCheck: target.loginCheck } : {}),
    };
    const startedAt = ctx.clock.now();
    /** How the run's span ends (a throw that no branch expected leaves it 'failed'). */
    let traceEnd: Parameters<RotationTrace['end']> = ['failed', 'internal'];
    try {
      const result = await ctx.rotate(
        { target: target.providerTarget, rotationId, policy: target.policy, timing: target.timing },
        deps,
      );
      const now = ctx.clock.now();
      if (result.conflict) {
        // Another writer got in the way of promote and the run settled it: say what it did.
        await ctx.alert({
          key: `${target.config.id}:conflict-resolved`,
          severity: ALERT_SEVERITY['conflict-resolved'],
          reason: 'conflict-resolved',
          targetId: target.config.id,
          provider: target.config.provider,
          rotationId,
          summary: `${target.config.id}: ${ALERT_SUMMARY['conflict-resolved']}: ${result.conflict.detail}`,
          details: {
            resolution: result.conflict.resolution,
            versionId: result.versionId,
            secretId: target.config.secret.id,
            trigger: data.trigger,
            actor: data.actor,
          },
          at: now,
        });
        logs.add(`promote conflict settled (${result.conflict.resolution}): ${result.conflict.detail}`);
      }
      await ctx.state.recordSuccess(target.config.id, rotationId, result.versionId, now);
      await ctx.audit.append({
        ...base,
        type: 'rotation-succeeded',
        outcome: 'succeeded',
        versionId: result.versionId,
        durationMs: now - startedAt,
        ...(result.alreadyDone ? { detail: 'already promoted' } : {}),
      });
      logs.add(`succeeded: version ${result.versionId} is current`);
      await logs.flush();
      logger.info(
        { targetId: target.config.id, rotationId, versionId: result.versionId, attempt: data.attempt },
        'rotation succeeded',
      );
      traceEnd = ['succeeded'];
      return {
        targetId: target.config.id,
        versionId: result.versionId,
        alreadyDone: result.alreadyDone,
        attempts: data.attempt,
      };
    } catch (err) {
      let error = asRotationError(
        err,
        target,
        rotationId,
        limit.signal,
        ctx.shutdownSignal,
        ctx.scrub ?? ((t) => t),
      );
      if (
        leaseLost &&
        !ctx.shutdownSignal.aborted &&
        (error.kind === 'aborted' || error.kind === 'unknown-outcome')
      ) {
        // Stopped because another run took the target over: busy, it carries on there.
        error = new RotationError({
          ...error.toJSON(),
          kind: 'busy',
          detail: 'this run lost the target lease to another run',
          cause: undefined,
        });
      }
      const now = ctx.clock.now();
      if (error.kind === 'aborted' && ctx.shutdownSignal.aborted) {
        // Shutdown: hand the rotation back at once (another worker, or this one after restart,
        // continues it); not a failure, no counter spent.
        logs.add(`interrupted by shutdown at ${error.step}; continues on the next run`);
        traceEnd = ['interrupted', error.kind];
        await logs.flush();
        await job.moveToDelayed(now, token);
        throw new DelayedError();
      }
      const step = nextStep({ error, data, retry: target.retry, timing: target.timing, random: ctx.random });
      const common = {
        ...base,
        step: error.step,
        errorKind: error.kind,
        httpStatus: error.httpStatus,
        vendorCode: error.vendorCode,
        requestId: error.requestId,
        versionId: error.versionId,
        durationMs: now - startedAt,
        detail: error.detail,
      } satisfies Partial<AuditEvent>;
      const logFields = { targetId: target.config.id, rotationId, kind: error.kind, attempt: data.attempt };
      const notes = providerNotes(error, ctx.scrub);
      const providerDetail = notes.detail;
      const extra = [
        ...(notes.detail ? [`provider: ${notes.detail}`] : []),
        ...(notes.vendorMessage ? [`vendor message: ${JSON.stringify(notes.vendorMessage)}`] : []),
      ];
      const message = extra.length ? `${error.message} (${extra.join('; ')})` : error.message;
      /**
       * A record of the failure (audit trail, target state, job data): written after the alerts, and
       * never allowed to stop the rest: a broken disk or Redis must not swallow an alert or a retry.
       */
      const record = async (what: string, write: () => Promise<unknown>) => {
        try {
          await write();
        } catch (err) {
          logger.error(
            { ...logFields, recordType: what, error: errorSummary(err, ctx.scrub) },
            'failure record could not be written',
          );
        }
      };
      /** Alerts first (alert() queues and never rejects), then their audit records. */
      const sendAlerts = async (reason: Parameters<typeof buildAlerts>[1]) => {
        const facts = { ...error.toJSON(), providerDetail };
        const alerts = buildAlerts(facts, reason, step.reason, target.config, data, now);
        for (const alert of alerts) await ctx.alert(alert);
        for (const alert of alerts) {
          await record('alert', () =>
            ctx.audit.append({ ...common, type: 'alert', detail: `${alert.reason}: ${alert.summary}` }),
          );
        }
      };
      traceEnd = [step.action === 'retry' ? 'retrying' : 'failed', error.kind];
      if (step.action === 'retry') {
        if (step.alert) await sendAlerts(step.alert);
        // the counters bound the retries: without them the run must not be retried
        await job.updateData({
          ...data,
          ...step.counters,
          ...('round' in step ? { round: step.round } : {}),
        });
        await record('target-state', () =>
          ctx.state.recordFailure(target.config.id, rotationId, error.kind, now, true),
        );
        await record('rotation-retrying', () =>
          ctx.audit.append({ ...common, type: 'rotation-retrying', outcome: 'retrying' }),
        );
        logs.add(`${message}; retry in ${step.delayMs}ms (${step.reason})`);
        await logs.flush();
        logger.warn({ ...logFields, delayMs: step.delayMs }, 'rotation will be retried');
        await job.moveToDelayed(now + step.delayMs, token);
        throw new DelayedError();
      }
      await sendAlerts(step.alert);
      await record('job-data', () => job.updateData({ ...data, failures: data.failures + 1 }));
      await record('target-state', () =>
        ctx.state.recordFailure(target.config.id, rotationId, error.kind, now, false),
      );
      await record('rotation-failed', () =>
        ctx.audit.append({ ...common, type: 'rotation-failed', outcome: 'failed' }),
      );
      logs.add(`failed: ${message} (${step.reason})`);
      await logs.flush();
      logger.error({ ...logFields, reason: step.reason }, 'rotation failed');
      throw new UnrecoverableError(error.message);
    } finally {
      if (renewal) clearInterval(renewal);
      ctx.shutdownSignal.removeEventListener('abort', onShutdown);
      limit.dispose();
      trace?.end(...traceEnd);
      await logs.flush();
    }
  }

  return processRotateTarget;
}

/**
 * What the provider error behind a failure said beyond its kind: its own detail (how the kind was
 * decided...) and the vendor's message (already scrubbed of the password by the provider and the
 * core; scrubbed again here of every live secret). For the job log; the alert takes the detail only.
 */
function providerNotes(
  error: RotationError,
  scrub: ((text: string) => string) | undefined,
): { detail?: string; vendorMessage?: string } {
  const cause = error.cause;
  if (!isProviderError(cause)) return {};
  const clean = (t: string) => (scrub ?? ((x: string) => x))(t).slice(0, 200);
  return {
    ...(cause.detail ? { detail: clean(cause.detail) } : {}),
    ...(cause.vendorMessage ? { vendorMessage: clean(cause.vendorMessage) } : {}),
  };
}

/** The name and message of a failed write, scrubbed of live secrets and cut short (for a log line). */
function errorSummary(err: unknown, scrub: Scrubber['scrub'] | undefined): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : 'unexpected error';
  return (scrub ?? ((t: string) => t))(text).slice(0, 300);
}

/** Anything rotate() throws that is not a RotationError (a bug, a Redis hiccup in a hook) or a timeout. */
function asRotationError(
  err: unknown,
  target: PreparedTarget,
  rotationId: string,
  timeout: AbortSignal,
  shutdown: AbortSignal,
  scrub: (text: string) => string,
): RotationError {
  if (isRotationError(err)) {
    if (err.kind === 'aborted' && timeout.aborted && !shutdown.aborted) {
      return new RotationError({
        ...err.toJSON(),
        kind: 'unknown-outcome',
        detail: 'the rotation took longer than its timeout',
        cause: undefined,
      });
    }
    return err;
  }
  const kind: RotationErrorKind = 'internal';
  return new RotationError({
    kind,
    step: 'stage',
    rotationId,
    targetId: target.config.id,
    steps: [],
    pendingMayBeApplied: false,
    storeStateKnown: false,
    // Scrub the whole text, then cut it: a cut first could split a password and keep its start.
    detail: scrub(err instanceof Error ? `${err.name}: ${err.message}` : 'unexpected error').slice(0, 300),
  });
}
