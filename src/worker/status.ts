import { targetSchedulerId } from '../queue/definitions.js';
import type { RotatorConfig } from '../config/schema.js';
import type { RotatorQueues } from '../queue/queues.js';
import { describeSchedule, effectiveSchedule, longestGap } from '../queue/schedule.js';
import { isOverdue, type TargetStateStore } from '../queue/target-state.js';
import type { TargetStatus } from '../rotation/target-status.js';

const LIVE: Record<string, TargetStatus['lastOutcome']> = {
  active: 'running',
  waiting: 'waiting',
  prioritized: 'waiting',
  paused: 'waiting',
  delayed: 'retrying',
};

/** Per target: schedule, next run, last success and outcome, overdue flag. Reads Redis only. */
export async function collectStatuses(
  config: Pick<RotatorConfig, 'targets' | 'defaults' | 'watchdog'>,
  queues: Pick<RotatorQueues, 'rotations' | 'triggers'>,
  state: TargetStateStore,
  now: number,
): Promise<TargetStatus[]> {
  const schedulers = new Map(
    (await queues.triggers.getJobSchedulers(0, -1, true)).map((s) => [s.key, s.next]),
  );
  const ids = config.targets.map((t) => t.id);
  const states = await state.getMany(ids);
  const live = await Promise.all(
    ids.map(async (id) => {
      const jobId = await queues.rotations.getDeduplicationJobId(id);
      return jobId ? LIVE[await queues.rotations.getJobState(jobId)] : undefined;
    }),
  );
  return config.targets.map((t, i) => {
    const s = states.get(t.id) ?? {};
    const schedule = effectiveSchedule(t, config);
    const status: TargetStatus = {
      id: t.id,
      provider: t.provider,
      secretId: t.secret.id,
      schedule: t.enabled ? describeSchedule(schedule) : 'disabled',
      overdue: t.enabled && isOverdue(s, longestGap(schedule, now), config.watchdog.grace, now),
    };
    const next = schedulers.get(targetSchedulerId(t.id));
    if (next !== undefined && t.enabled) status.nextRunAt = next;
    if (s.lastSuccessAt !== undefined) status.lastSuccessAt = s.lastSuccessAt;
    const outcome = live[i] ?? s.lastOutcome;
    if (outcome) status.lastOutcome = outcome === 'running' && !live[i] ? 'failed' : outcome;
    if (s.lastErrorKind && status.lastOutcome !== 'succeeded') status.lastErrorKind = s.lastErrorKind;
    if (s.lastFinishedAt !== undefined) status.lastFinishedAt = s.lastFinishedAt;
    return status;
  });
}
