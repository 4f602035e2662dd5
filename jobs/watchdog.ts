import { formatDuration } from '../src/config/duration.js';
import type { RotatorConfig } from '../src/config/schema.js';
import { describeSchedule, effectiveSchedule, longestGap } from '../src/queue/schedule.js';
import type { TargetStateStore } from '../src/queue/target-state.js';
import type { SecretStore } from '../src/secrets/types.js';
import { isOverdue } from '../src/queue/target-state.js';
import type { Alert } from '../src/alerts/types.js';
import { ALERT_SEVERITY, ALERT_SUMMARY } from './alerts.js';

export interface WatchdogContext {
  config: Pick<RotatorConfig, 'targets' | 'defaults' | 'watchdog'>;
  state: TargetStateStore;
  /** Consulted for targets Redis knows no success of (e.g. after Redis lost its data). */
  store?: Pick<SecretStore, 'describe'>;
  alert: (alert: Alert) => Promise<void>;
  now: number;
}

/**
 * Schedulers can fail silently (and BullMQ does not replay runs missed while no worker was up):
 * alert for every enabled target whose last successful rotation is older than its schedule allows
 * plus the grace. Returns the overdue target ids.
 */
export async function runWatchdog(ctx: WatchdogContext): Promise<string[]> {
  const enabled = ctx.config.targets.filter((t) => t.enabled);
  const states = await ctx.state.getMany(enabled.map((t) => t.id));
  const overdue: string[] = [];
  for (const t of enabled) {
    const state = { ...states.get(t.id) };
    if (state.lastSuccessAt === undefined && ctx.store) {
      const versions = await ctx.store.describe(t.secret.id).catch(() => undefined);
      const current = versions?.find((v) => v.stages.includes('AWSCURRENT'));
      if (current?.createdAt) state.lastSuccessAt = current.createdAt.getTime();
    }
    const schedule = effectiveSchedule(t, ctx.config);
    const gap = longestGap(schedule, ctx.now);
    if (!isOverdue(state, gap, ctx.config.watchdog.grace, ctx.now)) continue;
    overdue.push(t.id);
    const reference = state.lastSuccessAt ?? state.since;
    const alert: Alert = {
      key: `${t.id}:overdue`,
      severity: ALERT_SEVERITY.overdue,
      reason: 'overdue',
      targetId: t.id,
      provider: t.provider,
      summary: `${t.id}: ${ALERT_SUMMARY.overdue}`,
      details: {
        schedule: describeSchedule(schedule),
        lastSuccessAt:
          state.lastSuccessAt === undefined ? undefined : new Date(state.lastSuccessAt).toISOString(),
        neverSucceededSince:
          state.lastSuccessAt === undefined && reference !== undefined
            ? new Date(reference).toISOString()
            : undefined,
        allowed: formatDuration(gap + ctx.config.watchdog.grace),
        lastOutcome: state.lastOutcome,
        lastErrorKind: state.lastErrorKind,
        secretId: t.secret.id,
      },
      at: ctx.now,
    };
    await ctx.alert(alert);
  }
  return overdue;
}
