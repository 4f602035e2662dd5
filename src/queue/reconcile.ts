import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../util/redis-connection.js';
import { JOB_NAMES, targetSchedulerId, WATCHDOG_SCHEDULER_ID } from './definitions.js';
import type { RotatorConfig } from '../config/schema.js';
import { rotatorKey, type TriggerQueue } from './queues.js';
import { effectiveSchedule, sameRepeat, type SchedulerRepeat, toRepeatOptions } from './schedule.js';

/** One job scheduler the config asks for. */
export interface DesiredScheduler {
  id: string;
  jobName: string;
  repeat: SchedulerRepeat;
  data: { targetId?: string };
}

export interface ReconcileResult {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** One scheduler per enabled target, plus the watchdog. */
export function desiredSchedulers(
  config: Pick<RotatorConfig, 'targets' | 'defaults' | 'watchdog'>,
): DesiredScheduler[] {
  const out: DesiredScheduler[] = config.targets
    .filter((t) => t.enabled)
    .map((t) => ({
      id: targetSchedulerId(t.id),
      jobName: JOB_NAMES.scheduledRotation,
      repeat: toRepeatOptions(effectiveSchedule(t, config)),
      data: { targetId: t.id },
    }));
  out.push({
    id: WATCHDOG_SCHEDULER_ID,
    jobName: JOB_NAMES.watchdog,
    repeat: { every: config.watchdog.every },
    data: {},
  });
  return out;
}

export interface ReconcileOptions {
  /** How long to wait for another worker's reconcile to finish. */
  lockWaitMs?: number;
  /** Upserts in flight at once. */
  parallelism?: number;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const LOCK_TTL_MS = 60_000;

/**
 * Makes the triggers queue's job schedulers exactly the desired ones: adds missing ones, updates
 * changed ones, removes the rest. Idempotent: a second run with the same config touches nothing.
 * Several workers starting at once take turns under a Redis lock, so they never interleave; each
 * upsert is one atomic BullMQ script keyed by the scheduler id, so no scheduler or job is doubled.
 */
export async function reconcileSchedulers(
  queue: TriggerQueue,
  redis: RedisConnection,
  prefix: string,
  desired: readonly DesiredScheduler[],
  options: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const lockKey = rotatorKey(prefix, 'reconcile-lock');
  const token = randomUUID();
  const deadline = Date.now() + (options.lockWaitMs ?? 120_000);
  while ((await redis.set(lockKey, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error('another worker holds the scheduler reconcile lock');
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await reconcileUnlocked(queue, desired, options.parallelism ?? 32);
  } finally {
    await redis.eval(RELEASE, 1, lockKey, token);
  }
}

async function reconcileUnlocked(
  queue: TriggerQueue,
  desired: readonly DesiredScheduler[],
  parallelism: number,
): Promise<ReconcileResult> {
  const existing = new Map((await queue.getJobSchedulers(0, -1, true)).map((s) => [s.key, s]));
  const result: ReconcileResult = { added: [], changed: [], removed: [], unchanged: 0 };
  const work: (() => Promise<unknown>)[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(d.id);
    const have = existing.get(d.id);
    if (
      have &&
      sameRepeat(d.repeat, have) &&
      have.name === d.jobName &&
      sameData(have.template?.data, d.data)
    ) {
      result.unchanged++;
      continue;
    }
    (have ? result.changed : result.added).push(d.id);
    // An `every` scheduler would fire at once when created; start it one interval from now, as a
    // cron's first run is its next tick (a fleet added at once must not all rotate at start-up).
    const repeat = 'every' in d.repeat ? { ...d.repeat, startDate: Date.now() + d.repeat.every } : d.repeat;
    work.push(() =>
      queue.upsertJobScheduler(d.id, repeat, {
        name: d.jobName,
        data: d.data,
        opts: { removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } },
      }),
    );
  }
  for (const id of existing.keys()) {
    if (wanted.has(id)) continue;
    result.removed.push(id);
    work.push(() => queue.removeJobScheduler(id));
  }
  await runLimited(work, parallelism);
  return result;
}

function sameData(have: unknown, want: { targetId?: string }): boolean {
  if (!have || typeof have !== 'object') return Object.keys(want).length === 0;
  const h = have as Record<string, unknown>;
  const keys = new Set([...Object.keys(h), ...Object.keys(want)]);
  const w = want as Record<string, unknown>;
  for (const k of keys) if (h[k] !== w[k]) return false;
  return true;
}

async function runLimited(work: (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, work.length) }, async () => {
    while (next < work.length) {
      const task = work[next++]!;
      await task();
    }
  });
  await Promise.all(lanes);
}
