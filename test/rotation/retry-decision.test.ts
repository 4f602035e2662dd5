import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../src/providers/errors.js';
import { seededRandom } from '../../src/core/random.js';
import { KIND_POLICY, STOP_ALERT, decideRetry } from '../../src/rotation/retry-decision.js';
import type { RetryAlert, RetryDecisionInput } from '../../src/rotation/retry-decision.js';
import type { RotationErrorKind } from '../../src/rotation/types.js';

/** The highest draw: the delay is the top of its range (the backoff ceiling, or Retry-After above it). */
const TOP = 1 - 2 ** -52;
const retry = { attempts: 5, initialDelay: 30_000, maxDelay: 3_600_000 };
const base = { retry, busyBudget: 7_200_000, draw: TOP };
const err = (
  kind: RotationErrorKind,
  extra: { pendingMayBeApplied?: boolean; retryAfterMs?: number } = {},
) => ({
  kind,
  pendingMayBeApplied: extra.pendingMayBeApplied ?? false,
  retryAfterMs: extra.retryAfterMs,
});

/** A row's input: `attempts` is failed runs this one included (1 after the first failure). */
interface RowInput {
  error: RetryDecisionInput['error'];
  attempts?: number;
  busyMs?: number;
  retry?: RetryDecisionInput['retry'];
}
const decideRow = (input: RowInput, draw = TOP) =>
  decideRetry({
    ...base,
    ...(input.retry ? { retry: input.retry } : {}),
    error: input.error,
    counters: { failures: (input.attempts ?? 1) - 1, busyMs: input.busyMs ?? 0 },
    draw,
  });

type Row = [
  name: string,
  input: RowInput,
  expected: { action: 'retry' | 'stop'; delayMs?: number; reason?: RegExp; alert?: RetryAlert },
];

const table: Row[] = [
  ['busy backs off', { error: err('busy') }, { action: 'retry', delayMs: 30_000 }],
  [
    'busy honours a longer Retry-After',
    { error: err('busy', { retryAfterMs: 90_000 }) },
    { action: 'retry', delayMs: 90_000 },
  ],
  [
    'throttled: backoff wins over a shorter Retry-After',
    { error: err('throttled', { retryAfterMs: 1_000 }), attempts: 3 },
    { action: 'retry', delayMs: 120_000 },
  ],
  [
    'busy past the busy budget alerts',
    { error: err('busy'), busyMs: 7_190_000 },
    { action: 'stop', reason: /busy budget/, alert: 'busy-budget-spent' },
  ],
  [
    'unknown-outcome backs off and says a pending version may be held',
    { error: err('unknown-outcome', { pendingMayBeApplied: true }), attempts: 2 },
    { action: 'retry', delayMs: 60_000, reason: /cloud may hold/ },
  ],
  [
    'a store outage that hid the store state says so when it stops',
    { error: { ...err('store'), storeStateKnown: false }, attempts: 5 },
    {
      action: 'stop',
      reason: /store could not be read: a pending version may be left/,
      alert: 'final-failure',
    },
  ],
  ['bad-response backs off', { error: err('bad-response') }, { action: 'retry', delayMs: 30_000 }],
  [
    'backoff is capped at maxDelay',
    { error: err('store'), attempts: 4, retry: { ...retry, maxDelay: 100_000 } },
    { action: 'retry', delayMs: 100_000 },
  ],
  [
    'attempts exhausted alerts',
    { error: err('unknown-outcome', { pendingMayBeApplied: true }), attempts: 5 },
    {
      action: 'stop',
      reason: /gave up after 5 attempts; a pending version is left that the cloud may hold/,
      alert: 'final-failure',
    },
  ],
  [
    'busy out of attempts is a final failure, not a spent busy budget',
    { error: err('busy'), attempts: 5 },
    { action: 'stop', reason: /gave up after 5 attempts/, alert: 'final-failure' },
  ],
  [
    'password-rejected retries at once with a fresh password',
    { error: err('password-rejected') },
    { action: 'retry', delayMs: 0 },
  ],
  [
    'password-rejected for a password the cloud may hold stops',
    { error: err('password-rejected', { pendingMayBeApplied: true }) },
    { action: 'stop', reason: /cloud may hold/, alert: 'final-failure' },
  ],
  [
    'precondition stops',
    { error: err('precondition') },
    { action: 'stop', reason: /needs a human/, alert: 'precondition' },
  ],
  ['auth stops', { error: err('auth') }, { action: 'stop', alert: 'auth' }],
  ['not-found stops', { error: err('not-found') }, { action: 'stop', alert: 'not-found' }],
  ['bad-request stops', { error: err('bad-request') }, { action: 'stop', alert: 'bad-request' }],
  ['ready-timeout backs off', { error: err('ready-timeout') }, { action: 'retry', delayMs: 30_000 }],
  [
    'settle-timeout retries and alerts',
    { error: err('settle-timeout', { pendingMayBeApplied: true }) },
    { action: 'retry', delayMs: 30_000, reason: /cloud may hold/, alert: 'pending-may-be-applied' },
  ],
  [
    'verify-failed retries and alerts',
    { error: err('verify-failed', { pendingMayBeApplied: true }) },
    { action: 'retry', alert: 'pending-may-be-applied' },
  ],
  [
    'verify-failed out of attempts stops',
    { error: err('verify-failed', { pendingMayBeApplied: true }), attempts: 9 },
    { action: 'stop', alert: 'final-failure' },
  ],
  ['cluster-failed stops', { error: err('cluster-failed') }, { action: 'stop', alert: 'cluster-failed' }],
  [
    'rejections-exhausted stops',
    { error: err('rejections-exhausted') },
    { action: 'stop', alert: 'rejections-exhausted' },
  ],
  ['policy stops', { error: err('policy') }, { action: 'stop', alert: 'final-failure' }],
  [
    'secret-unreadable stops',
    { error: err('secret-unreadable') },
    { action: 'stop', reason: /^secret-unreadable: needs a human$/, alert: 'secret-unreadable' },
  ],
  ['conflict stops', { error: err('conflict') }, { action: 'stop', alert: 'conflict' }],
  [
    'a kind this version does not know stops as a final failure',
    { error: err('from-a-newer-worker' as RotationErrorKind) },
    { action: 'stop', alert: 'final-failure' },
  ],
  ['store backs off', { error: err('store') }, { action: 'retry', delayMs: 30_000 }],
  ['internal backs off', { error: err('internal') }, { action: 'retry', delayMs: 30_000 }],
  [
    'aborted retries at once, even out of attempts',
    { error: err('aborted'), attempts: 99 },
    { action: 'retry', delayMs: 0 },
  ],
];

describe('decideRetry', () => {
  it.each(table)('%s', (_name, input, expected) => {
    const d = decideRow(input);
    expect(d.action).toBe(expected.action);
    if (expected.delayMs !== undefined) expect(d.action === 'retry' && d.delayMs).toBe(expected.delayMs);
    if (expected.reason) expect(d.reason).toMatch(expected.reason);
    // A stop always names its alert; a retry alerts only where the row says so.
    expect(d.alert).toBe(expected.alert);
  });

  it('has a policy for every provider error kind', () => {
    for (const kind of ERROR_KINDS) expect(KIND_POLICY[kind]).toBeDefined();
  });

  it('has an alert for every kind that stops at once', () => {
    for (const [kind, policy] of Object.entries(KIND_POLICY)) {
      if (policy === 'stop') expect(STOP_ALERT[kind as keyof typeof STOP_ALERT]).toBeDefined();
    }
  });

  it('every stop reason for a pending version says so', () => {
    for (const kind of Object.keys(KIND_POLICY) as RotationErrorKind[]) {
      const d = decideRow({ attempts: 99, error: err(kind, { pendingMayBeApplied: true }) });
      if (d.action === 'stop') expect(d.reason).toMatch(/cloud may hold/);
    }
  });

  it('counts a failure and the busy time waited; a shutdown spends nothing', () => {
    const counters = { failures: 2, busyMs: 5_000 };
    const at = (kind: RotationErrorKind) => decideRetry({ ...base, counters, error: err(kind) });
    expect(at('busy')).toMatchObject({ action: 'retry', counters: { failures: 3, busyMs: 5_000 + 120_000 } });
    expect(at('store')).toMatchObject({ action: 'retry', counters: { failures: 3, busyMs: 5_000 } });
    expect(at('password-rejected')).toMatchObject({
      action: 'retry',
      counters: { failures: 3, busyMs: 5_000 },
    });
    expect(at('aborted')).toMatchObject({ action: 'retry', counters });
  });
});

describe('retry delays', () => {
  it('at the top draw: the backoff ceiling, doubling from initialDelay up to maxDelay', () => {
    const delays = [1, 2, 3, 4, 10, 1000].map((attempts) => {
      const d = decideRow({ retry: { ...retry, attempts: 2000 }, attempts, error: err('unknown-outcome') });
      return d.action === 'retry' ? d.delayMs : undefined;
    });
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
  });

  it('with randomness: full jitter within [Retry-After, ceiling], spread over the range', () => {
    const random = seededRandom(7);
    const seen: number[] = [];
    for (let i = 0; i < 500; i++) {
      const d = decideRow({ attempts: 3, error: err('busy', { retryAfterMs: 10_000 }) }, random.float());
      if (d.action !== 'retry') throw new Error(`expected retry, got ${d.action}`);
      seen.push(d.delayMs);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(120_000);
    expect(Math.max(...seen) - Math.min(...seen)).toBeGreaterThan(80_000);
  });

  it('the lowest draw waits Retry-After, or not at all without one', () => {
    expect(decideRow({ error: err('busy', { retryAfterMs: 10_000 }), attempts: 3 }, 0)).toMatchObject({
      delayMs: 10_000,
    });
    expect(decideRow({ error: err('store'), attempts: 3 }, 0)).toMatchObject({ delayMs: 0 });
  });
});

describe('decideRetry: properties', () => {
  const ms = (max: number) => fc.integer({ min: 0, max });
  const kindArb = fc.constantFrom(...(Object.keys(KIND_POLICY) as RotationErrorKind[]));
  const inputArb = fc.record({
    error: fc.record({
      kind: kindArb,
      pendingMayBeApplied: fc.boolean(),
      storeStateKnown: fc.option(fc.boolean(), { nil: undefined }),
      retryAfterMs: fc.option(ms(2 * 86_400_000), { nil: undefined }),
    }),
    counters: fc.record({ failures: fc.integer({ min: 0, max: 30 }), busyMs: ms(4 * 3_600_000) }),
    retry: fc.record({
      attempts: fc.integer({ min: 1, max: 30 }),
      initialDelay: ms(3_600_000),
      maxDelay: ms(2 * 3_600_000),
    }),
    busyBudget: ms(4 * 3_600_000),
    draw: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });
  /** Busy or throttled, with a busy budget that runs out within this retry's range. */
  const nearBudgetArb = inputArb.chain((input) =>
    fc
      .record({
        kind: fc.constantFrom<RotationErrorKind>('busy', 'throttled'),
        left: fc.integer({ min: 0, max: input.retry.maxDelay }),
      })
      .map(({ kind, left }) => ({
        ...input,
        error: { ...input.error, kind },
        busyBudget: input.counters.busyMs + left,
      })),
  );

  it('a retry waits a whole number of ms within [0, maxDelay], never less than Retry-After', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideRetry(input);
        if (d.action !== 'retry') return;
        expect(Number.isInteger(d.delayMs)).toBe(true);
        expect(d.delayMs).toBeGreaterThanOrEqual(0);
        expect(d.delayMs).toBeLessThanOrEqual(input.retry.maxDelay);
        const backsOff = !['retry-now'].includes(KIND_POLICY[input.error.kind]);
        if (backsOff && input.error.retryAfterMs !== undefined) {
          expect(d.delayMs).toBeGreaterThanOrEqual(Math.min(input.error.retryAfterMs, input.retry.maxDelay));
        }
      }),
    );
  });

  it('respects the budgets: no retry past retry.attempts or the busy budget (a shutdown aside)', () => {
    fc.assert(
      fc.property(fc.oneof(inputArb, nearBudgetArb), (input) => {
        const d = decideRetry(input);
        if (d.action !== 'retry' || input.error.kind === 'aborted') return;
        expect(d.counters.failures).toBeLessThan(input.retry.attempts);
        if (KIND_POLICY[input.error.kind] === 'busy') {
          expect(d.counters.busyMs).toBeLessThanOrEqual(input.busyBudget);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('counters only grow: one failure per run (none for a shutdown), busy time by the delay waited', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideRetry(input);
        if (d.action !== 'retry') return;
        const { failures, busyMs } = input.counters;
        const busy = KIND_POLICY[input.error.kind] === 'busy';
        expect(d.counters.failures).toBe(input.error.kind === 'aborted' ? failures : failures + 1);
        expect(d.counters.busyMs).toBe(busy ? busyMs + d.delayMs : busyMs);
      }),
    );
  });

  it('a stop always names an alert; a retry alerts only for a reset the cluster has not confirmed', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideRetry(input);
        if (d.action === 'stop') expect(d.alert).toBeDefined();
        else expect(d.alert === undefined || d.alert === 'pending-may-be-applied').toBe(true);
        // The same facts and the same draw give the same decision.
        expect(decideRetry(input)).toEqual(d);
      }),
    );
  });
});
