import { createRequire } from 'node:module';
import { defaultRepeatStrategy } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { scheduleSchema } from '../../src/config/schema.js';
import { describeSchedule, longestGap, sameRepeat, toRepeatOptions } from '../../src/queue/schedule.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 0, 15, 12);

describe('schedules', () => {
  it('maps the config to BullMQ repeat options and back', () => {
    expect(toRepeatOptions({ cron: '0 3 1 * *', tz: 'Europe/Berlin' })).toEqual({
      pattern: '0 3 1 * *',
      tz: 'Europe/Berlin',
    });
    expect(toRepeatOptions({ every: 7 * DAY })).toEqual({ every: 7 * DAY });
    expect(sameRepeat({ every: 5 }, { every: 5 })).toBe(true);
    expect(sameRepeat({ every: 5 }, { every: 6 })).toBe(false);
    expect(sameRepeat({ pattern: '0 3 * * *', tz: 'UTC' }, { pattern: '0 3 * * *' })).toBe(true);
    expect(sameRepeat({ pattern: '0 3 * * *', tz: 'UTC' }, { pattern: '0 3 * * *', tz: 'Asia/Seoul' })).toBe(
      false,
    );
  });

  it('describes schedules for humans', () => {
    expect(describeSchedule({ cron: '0 3 1 * *', tz: 'UTC' })).toBe('cron 0 3 1 * * (UTC)');
    expect(describeSchedule({ every: 7 * DAY })).toBe('every 7d');
    expect(describeSchedule({ every: 30 * DAY })).toBe('every 30d');
  });

  it('finds the longest gap a schedule allows', () => {
    expect(longestGap({ every: 3 * DAY }, now)).toBe(3 * DAY);
    expect(longestGap({ cron: '0 3 * * *', tz: 'UTC' }, now)).toBe(DAY);
    // weekdays only: Friday to Monday
    expect(longestGap({ cron: '0 3 * * 1-5', tz: 'UTC' }, now)).toBe(3 * DAY);
    // monthly: the longest month
    expect(longestGap({ cron: '0 3 1 * *', tz: 'UTC' }, now)).toBe(31 * DAY);
  });
});

describe('cron: check-config and the scheduler read it alike', () => {
  it('uses the one cron-parser that BullMQ itself loads', () => {
    const ours = createRequire(import.meta.url).resolve('cron-parser');
    const bullmqs = createRequire(createRequire(import.meta.url).resolve('bullmq')).resolve('cron-parser');
    expect(bullmqs).toBe(ours);
  });

  it("agrees with BullMQ's scheduler on the next run of the expressions check-config accepts", () => {
    const from = Date.UTC(2026, 2, 28, 23, 30); // the night Europe/Berlin moves its clocks
    for (const [cron, tz] of [
      ['0 3 1 * *', 'UTC'],
      ['30 2 * * *', 'Europe/Berlin'],
      ['0 0 * * 1-5', 'Asia/Seoul'],
      ['*/15 * * * *', 'UTC'],
      ['0 4 L * *', 'UTC'],
    ] as const) {
      expect(scheduleSchema.safeParse({ cron, tz }).success, cron).toBe(true);
      const mine = CronExpressionParser.parse(cron, { tz, currentDate: new Date(from) })
        .next()
        .getTime();
      expect(defaultRepeatStrategy(from, { pattern: cron, tz }), cron).toBe(mine);
    }
  });
});
