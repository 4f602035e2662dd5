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
