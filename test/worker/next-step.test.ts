import { describe, expect, it } from 'vitest';
import type { RotateJobData } from '../../src/queue/definitions.js';
import { nextStep } from '../../jobs/retry.js';
import { rotationTimingSchema } from '../../src/config/schema.js';

const data = (attempt: number): RotateJobData => ({
  targetId: 't1',
  trigger: 'cli',
  actor: 'test',
  requestedAt: 0,
  attempt,
  failures: attempt - 1,
  busyMs: 0,
});
const storeDown = {
  kind: 'store' as const,
  step: 'stage' as const,
  rotationId: 'r1',
  pendingMayBeApplied: false,
  storeStateKnown: false,
};
const input = (attempt: number) => ({
  error: storeDown,
  data: data(attempt),
  retry: { attempts: attempt, initialDelay: 100, maxDelay: 1_000 },
  timing: rotationTimingSchema.parse({}),
  random: () => 0.5,
});

describe('nextStep: what a stop says about a pending version', () => {
  it('the first run of a rotation that could not read the store staged nothing: no pending note', () => {
    const step = nextStep(input(1));
    expect(step).toMatchObject({ action: 'stop', alert: 'final-failure' });
    expect(step.reason).not.toMatch(/pending version/);
  });

  it('a later run cannot know whether an earlier one staged a version: it says one may be left', () => {
    const step = nextStep(input(3));
    expect(step).toMatchObject({ action: 'stop', alert: 'final-failure' });
    expect(step.reason).toMatch(/the store could not be read: a pending version may be left/);
  });
});

describe('nextStep: a conflict the core settles with a fresh rotation', () => {
  const conflict = {
    kind: 'conflict' as const,
    step: 'promote' as const,
    rotationId: 'r1',
    pendingMayBeApplied: true,
    conflictResolution: 'fresh-rotation' as const,
  };
  const at = (failures: number, attempts: number, round?: number) => ({
    error: conflict,
    data: { ...data(failures + 1), failures, ...(round === undefined ? {} : { round }) },
    retry: { attempts, initialDelay: 100, maxDelay: 1_000 },
    timing: rotationTimingSchema.parse({}),
    random: () => {
      throw new Error('a fresh round draws no delay');
    },
  });

  it('starts the next round at once, counted as a failure and alerted, while attempts remain', () => {
    expect(nextStep(at(0, 3))).toEqual({
      action: 'retry',
      delayMs: 0,
      counters: { failures: 1, busyMs: 0 },
      alert: 'conflict',
      reason:
        "conflict: a fresh rotation re-applies the store's pending value (or a new password) and promotes it",
      round: 1,
    });
    expect(nextStep(at(1, 3, 1))).toMatchObject({ action: 'retry', round: 2 });
  });

  it('stops with the conflict alert once the attempts are spent, like any conflict', () => {
    const step = nextStep({ ...at(2, 3, 2), random: () => 0.5 });
    expect(step).toMatchObject({ action: 'stop', alert: 'conflict' });
    expect('round' in step).toBe(false);
  });

  it('a conflict with any other resolution is the decision table’s: it stops', () => {
    const step = nextStep({
      ...at(0, 3),
      error: { ...conflict, conflictResolution: 'promoted' as const },
      random: () => 0.5,
    });
    expect(step).toMatchObject({ action: 'stop', alert: 'conflict' });
  });
});
