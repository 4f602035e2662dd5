import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { QUEUE_NAMES, type RotateJobData, type RotateJobResult } from '../queue/definitions.js';
import { createRequestProcessor } from '../../jobs/request.js';
import { createRotateTargetProcessor, type RotateTargetContext } from '../../jobs/rotate-target.js';
import { createTriggerProcessor } from '../../jobs/trigger.js';
import { runWatchdog } from '../../jobs/watchdog.js';
import type { RotatorConfig } from '../config/schema.js';
import { checkEvictionPolicy, createRedisConnection } from '../queue/connection.js';
import type { RedisConnection } from '../util/redis-connection.js';
import { enqueueRotation } from '../queue/enqueue.js';
import { openQueues, rotatorKey, type RotatorQueues } from '../queue/queues.js';
import { desiredSchedulers, type ReconcileResult, reconcileSchedulers } from '../queue/reconcile.js';
import { TargetStateStore } from '../queue/target-state.js';
import { TargetLeases } from '../queue/lease.js';
import { sweepPending, type SweptTarget } from './sweep.js';
import type { Tracing } from '../telemetry/tracing.js';
import { createRotationControl } from './control.js';
import type { RotateRequest, RotationControl } from '../queue/control.js';

/** The domain parts the worker runs (built from the config by components.ts, or by a test). */
export type WorkerComponents = Omit<RotateTargetContext, 'state' | 'shutdownSignal' | 'afterStep'> & {
  close(): Promise<void>;
};

export interface WorkerRuntimeOptions {
  config: RotatorConfig;
  components: WorkerComponents;
  /** Reconcile job schedulers at start (default true). */
  schedule?: boolean;
  /** Process jobs (default true); false gives a control-only runtime (CLI, API). */
  process?: boolean;
  /** BullMQ lock of a running job; a killed worker's job is picked up after about this long. */
  lockDuration?: number;
  stalledInterval?: number;
  /** How often a job may stall (its worker died) before BullMQ fails it (default 10: runs are re-entrant). */
  maxStalledCount?: number;
  /** Test hook, see RotateTargetContext.afterStep. */
  afterStep?: RotateTargetContext['afterStep'];
  /** Use this connection instead of opening one (not closed by the runtime). */
  connection?: RedisConnection;
  /** OpenTelemetry (startTracing): rotation and step spans, and BullMQ's own. */
  tracing?: Tracing;
}

export interface WorkerRuntime {
  readonly queues: RotatorQueues;
  readonly state: TargetStateStore;
  readonly control: RotationControl;
  /** What the start-up reconcile did (undefined when schedule: false). */
  readonly reconciled: ReconcileResult | undefined;
  /** Re-runs the reconcile and the pending sweep (every pending version when Redis lost its data). */
  recover(): Promise<void>;
  /** Per-target leases of running rotations. */
  readonly leases: TargetLeases;
  /** Enqueues a rotation for every target with an orphaned pending version (see sweep.ts). */
  sweep(why: string): Promise<SweptTarget[]>;
  /** The sweep started by the last start or recovery (it runs in the background). */
  readonly lastSweep: Promise<SweptTarget[]>;
  /**
   * Stops taking jobs, lets active rotations finish within `timeoutMs`, then interrupts the rest at
   * their next safe point (they continue on another worker or after restart), and closes everything.
   */
  close(timeoutMs?: number): Promise<void>;
}

export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config, components } = options;
  const logger = components.logger;
  const connection = options.connection ?? createRedisConnection(config.redis);
  const ownsConnection = !options.connection;
  connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const queues = openQueues(connection, config.redis.prefix, options.tracing?.bullmq);
  const state = new TargetStateStore(connection, config.redis.prefix);
  const keep = { keepCompleted: config.jobs.keepCompleted, keepFailed: config.jobs.keepFailed };
  const byId = new Map(config.targets.map((t) => [t.id, t]));
  const enabledIds = config.targets.filter((t) => t.enabled).map((t) => t.id);
  const shutdown = new AbortController();

  const enqueue = (r: { targetId: string; trigger: RotateRequest['trigger']; actor: string }) =>
    enqueueRotation(queues, r, { keep });

  const control = createRotationControl(config, queues, state);

  // The epoch marker tells a reconnect to the same Redis from a Redis that lost its data.
  const epochKey = rotatorKey(config.redis.prefix, 'epoch');
  const epoch = randomUUID();

  const leases = new TargetLeases(connection, config.redis.prefix, config.worker.leaseDuration);

  /** Roll forward: a target whose store holds an orphaned pending version gets a (deduplicated) rotation. */
  const sweep = (why: string, ignoreAge = false) =>
    sweepPending({
      targets: config.targets,
      store: components.store,
      leases,
      enqueue,
      logger,
      now: Date.now(),
      why,
      ignoreAge,
    });

  let reconciled: ReconcileResult | undefined;
  let lastSweep: Promise<SweptTarget[]> = Promise.resolve([]);
  const recover = async () => {
    // A missing marker means this Redis never saw a worker, or lost its data: only then can a
    // rotation have vanished from the queue, so only then are pending versions rolled forward.
    const dataLost = (await connection.set(epochKey, epoch, 'NX')) === 'OK';
    if (options.schedule !== false) {
      reconciled = await reconcileSchedulers(
        queues.triggers,
        connection,
        config.redis.prefix,
        desiredSchedulers(config),
      );
      await state.markSeen(enabledIds, Date.now());
      logger.info(
        {
          added: reconciled.added.length,
          changed: reconciled.changed.length,
          removed: reconciled.removed.length,
          unchanged: reconciled.unchanged,
        },
        'job schedulers reconciled',
      );
    }
    // Every start (and every watchdog pass) looks for pending versions nobody is finishing: a job
    // that failed after stalls or was removed by hand leaves one, even when Redis kept its data.
    // In the background: a start must not wait on reading every target's secret.
    if (options.process !== false) {
      lastSweep = sweep(dataLost ? 'redis-data-lost' : 'start', dataLost).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'pending sweep failed');
        return [];
      });
    }
  };
  await recover();
  // Redis answered the reconcile: a good moment to check the one server setting BullMQ relies on.
  await checkEvictionPolicy(connection, logger);

  const workers: Worker[] = [];
  if (options.process !== false) {
    const rotateProcessor = createRotateTargetProcessor({
      ...components,
      state,
      shutdownSignal: shutdown.signal,
      leases,
      // The list getJobLogs() reads (what job.log() appends to, one row per call).
      writeJobLog: (jobId, rows) => connection.rpush(queues.rotations.toKey(`${jobId}:logs`), ...rows),
      ...(options.afterStep ? { afterStep: options.afterStep } : {}),
      ...(options.tracing ? { tracer: options.tracing.rotations } : {}),
    });
    const bullOpts = {
      connection,
      prefix: config.redis.prefix,
      lockDuration: options.lockDuration ?? config.worker.lockDuration,
      stalledInterval: options.stalledInterval ?? config.worker.stalledInterval,
      maxStalledCount: options.maxStalledCount ?? config.worker.maxStalledCount,
      ...(options.tracing ? { telemetry: options.tracing.bullmq } : {}),
    };
    const rotations = new Worker<RotateJobData, RotateJobResult>(QUEUE_NAMES.rotations, rotateProcessor, {
      ...bullOpts,
      concurrency: config.worker.concurrency,
    });
    const triggers = new Worker(
      QUEUE_NAMES.triggers,
      createTriggerProcessor({
        enqueue,
        isEnabled: (id) => byId.get(id)?.enabled === true,
        watchdog: async () => {
          const overdue = await runWatchdog({
            config,
            state,
            store: components.store,
            alert: components.alert,
            now: Date.now(),
          });
          await sweep('watchdog');
          return overdue;
        },
      }),
      { ...bullOpts, concurrency: 20 },
    );
    // The public request queue (docs/enqueue.md). The producer may set its own removeOn* options;
    // these are the defaults.
    const requests = new Worker(
      QUEUE_NAMES.requests,
      createRequestProcessor({
        targets: new Map(config.targets.map((t) => [t.id, { provider: t.provider, enabled: t.enabled }])),
        rotate: (request) => control.rotate(request),
        audit: components.audit,
        logger,
        ...(components.scrub ? { scrub: components.scrub } : {}),
        writeRequestLog: (jobId, rows) => connection.rpush(queues.requests.toKey(`${jobId}:logs`), ...rows),
        writeRotationLog: (rotationId, row) => queues.rotations.addJobLog(rotationId, row),
      }),
      {
        ...bullOpts,
        concurrency: 20,
        removeOnComplete: { age: Math.ceil(keep.keepCompleted / 1000) },
        removeOnFail: { age: Math.ceil(keep.keepFailed / 1000) },
      },
    );
    for (const w of [rotations, triggers, requests]) {
      w.on('error', (err) => logger.warn({ queue: w.name, err: err.message }, 'queue worker error'));
      workers.push(w);
    }
    // A rotation failed after too many stalls (its workers kept dying) never ran its own failure
    // handling: its pending version, if any, would be left for good. Alert, then sweep.
    rotations.on('failed', (job, err) => {
      if (!job || !/stalled more than allowable limit/.test(err?.message ?? '')) return;
      const targetId = job.data.targetId;
      const target = byId.get(targetId);
      void (async () => {
        await components.alert({
          key: `${targetId}:final-failure`,
          severity: 'critical',
          reason: 'final-failure',
          targetId,
          ...(target ? { provider: target.provider } : {}),
          ...(job.id ? { rotationId: job.id } : {}),
          summary: `${targetId}: the rotation failed after its worker stalled too often; a pending password it left, which the cloud may hold, is finished by the pending sweep`,
          details: { step: 'stalled', secretId: target?.secret.id, attempts: job.data.attempt },
          at: Date.now(),
        });
        // The failed job's lease may still run for up to one lease time: sweep when it has ended.
        const swept = await sweep('stalled-job', true);
        if (!swept.some((s) => s.targetId === targetId)) {
          setTimeout(
            () => void sweep('stalled-job').catch(() => undefined),
            config.worker.leaseDuration,
          ).unref();
        }
      })().catch((e: unknown) =>
        logger.error({ targetId, err: (e as Error).message }, 'sweep after a stalled job failed'),
      );
    });
    // After a reconnect, a missing epoch marker means Redis lost its data (restart without
    // persistence): put the schedulers back and finish any rotation the store shows half done.
    let recovering = false;
    connection.on('ready', () => {
      if (recovering || shutdown.signal.aborted) return;
      recovering = true;
      void (async () => {
        try {
          if ((await connection.get(epochKey)) === null) {
            logger.warn({}, 'redis lost its data: restoring job schedulers and pending rotations');
            await recover();
            // A Redis that lost its data may be a new server with other settings.
            await checkEvictionPolicy(connection, logger);
          }
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'recovery after a redis restart failed');
        } finally {
          recovering = false;
        }
      })();
    });
  }

  let closing: Promise<void> | undefined;
  const close = (timeoutMs = config.worker.shutdownTimeout) => {
    closing ??= (async () => {
      const done = Promise.all(workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn(
          { timeoutMs },
          'shutdown timeout: interrupting active rotations at their next safe point',
        );
        shutdown.abort(new Error('worker shutting down'));
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
      }
      shutdown.abort(new Error('worker shutting down'));
      await queues.close();
      await components.close();
      if (ownsConnection) await connection.quit().catch(() => connection.disconnect());
    })();
    return closing;
  };

  return {
    queues,
    state,
    control,
    get reconciled() {
      return reconciled;
    },
    recover,
    leases,
    sweep: (why: string) => sweep(why),
    get lastSweep() {
      return lastSweep;
    },
    close,
  };
}
