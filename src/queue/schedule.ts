import { CronExpressionParser } from 'cron-parser';
import type { RotatorConfig, Schedule, TargetConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';

/** What BullMQ's upsertJobScheduler takes for one schedule. */
export type SchedulerRepeat = { pattern: string; tz: string } | { every: number };

export function effectiveSchedule(target: TargetConfig, config: Pick<RotatorConfig, 'defaults'>): Schedule {
  return target.schedule ?? config.defaults.schedule;
}

export function toRepeatOptions(schedule: Schedule): SchedulerRepeat {
  return 'cron' in schedule ? { pattern: schedule.cron, tz: schedule.tz } : { every: schedule.every };
}

/** 'cron 0 3 1 * * (UTC)' or 'every 7d'. */
export function describeSchedule(schedule: Schedule): string {
  return 'cron' in schedule
    ? `cron ${schedule.cron} (${schedule.tz})`
    : `every ${formatDuration(schedule.every)}`;
}

/**
 * The longest gap between two runs the schedule allows, in ms: what the watchdog adds its grace to.
 * For a cron this is the largest gap among its next 64 runs within a year (a weekday cron has a
 * three-day gap over the weekend, a monthly one 31 days).
 */
const gapCache = new Map<string, number>();

export function longestGap(schedule: Schedule, now: number): number {
  if ('every' in schedule) return schedule.every;
  // cron-parser is slow; the answer depends on the expression, not on the day asked (DST aside).
  const key = `${schedule.tz} ${schedule.cron}`;
  const cached = gapCache.get(key);
  if (cached !== undefined) return cached;
  const gap = computeCronGap(schedule, now);
  gapCache.set(key, gap);
  return gap;
}

function computeCronGap(schedule: Extract<Schedule, { cron: string }>, now: number): number {
  const it = CronExpressionParser.parse(schedule.cron, { tz: schedule.tz, currentDate: new Date(now) });
  const horizon = now + 366 * 86_400_000;
  let prev = it.next().getTime();
  let longest = 0;
  for (let i = 0; i < 64; i++) {
    const next = it.next().getTime();
    longest = Math.max(longest, next - prev);
    if (next > horizon) break;
    prev = next;
  }
  return longest;
}

/** Two repeat settings mean the same schedule. */
export function sameRepeat(
  a: SchedulerRepeat,
  b: { pattern?: string | null; tz?: string | null; every?: number | null },
): boolean {
  if ('every' in a) return b.every === a.every && !b.pattern;
  return b.pattern === a.pattern && (b.tz ?? 'UTC') === a.tz && !b.every;
}
