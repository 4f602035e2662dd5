import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../src/providers/errors.js';
import { seededRandom } from '../../src/core/random.js';
import { KIND_POLICY, decide } from '../../src/rotation/decide.js';
import type { DecideInput } from '../../src/rotation/decide.js';
import type { RotationErrorKind } from '../../src/rotation/types.js';

const retry = { attempts: 5, initialDelay: 30_000, maxDelay: 3_600_000 };
const base = { attempts: 1, busyMs: 0, retry, busyBudget: 7_200_000 } satisfies Omit<DecideInput, 'error'>;
const err = (
  kind: RotationErrorKind,
  extra: { pendingMayBeApplied?: boolean; retryAfterMs?: number } = {},
) => ({
  kind,
  pendingMayBeApplied: extra.pendingMayBeApplied ?? false,
  retryAfterMs: extra.retryAfterMs,
});

type Row = [
  name: string,
  input: Partial<DecideInput> & { error: DecideInput['error'] },
  expected: { action: string; delayMs?: number; reason?: RegExp },
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
    { action: 'alert-and-stop', reason: /busy budget/ },
  ],
  [
    'unknown-outcome backs off and says a pending version may be held',
    { error: err('unknown-outcome', { pendingMayBeApplied: true }), attempts: 2 },
    { action: 'retry', delayMs: 60_000, reason: /cloud may hold/ },
  ],
  [
    'a store outage that hid the store state says so when it stops',
    { error: { ...err('store'), storeStateKnown: false }, attempts: 5 },
    { action: 'alert-and-stop', reason: /store could not be read: a pending version may be left/ },
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
      action: 'alert-and-stop',
      reason: /gave up after 5 attempts; a pending version is left that the cloud may hold/,
    },
  ],
  [
    'password-rejected retries at once with a fresh password',
    { error: err('password-rejected') },
    { action: 'retry', delayMs: 0 },
  ],
  [
    'password-rejected for a password the cloud may hold stops',
    { error: err('password-rejected', { pendingMayBeApplied: true }) },
    { action: 'alert-and-stop', reason: /cloud may hold/ },
  ],
  [
    'precondition stops',
    { error: err('precondition') },
    { action: 'alert-and-stop', reason: /needs a human/ },
  ],
  ['auth stops', { error: err('auth') }, { action: 'alert-and-stop' }],
  ['not-found stops', { error: err('not-found') }, { action: 'alert-and-stop' }],
  ['bad-request stops', { error: err('bad-request') }, { action: 'alert-and-stop' }],
  ['ready-timeout backs off', { error: err('ready-timeout') }, { action: 'retry', delayMs: 30_000 }],
  [
    'settle-timeout retries and alerts',
    { error: err('settle-timeout', { pendingMayBeApplied: true }) },
    { action: 'retry-and-alert', delayMs: 30_000, reason: /cloud may hold/ },
  ],
  [
    'verify-failed retries and alerts',
    { error: err('verify-failed', { pendingMayBeApplied: true }) },
    { action: 'retry-and-alert' },
  ],
  [
    'verify-failed out of attempts stops',
    { error: err('verify-failed', { pendingMayBeApplied: true }), attempts: 9 },
    { action: 'alert-and-stop' },
  ],
  ['cluster-failed stops', { error: err('cluster-failed') }, { action: 'alert-and-stop' }],
  ['rejections-exhausted stops', { error: err('rejections-exhausted') }, { action: 'alert-and-stop' }],
  ['policy stops', { error: err('policy') }, { action: 'alert-and-stop' }],
  ['store backs off', { error: err('store') }, { action: 'retry', delayMs: 30_000 }],
  ['internal backs off', { error: err('internal') }, { action: 'retry', delayMs: 30_000 }],
  [
    'aborted retries at once, even out of attempts',
    { error: err('aborted'), attempts: 99 },
    { action: 'retry', delayMs: 0 },
  ],
];

describe('decide', () => {
  it.each(table)('%s', (_name, input, expected) => {
    const d = decide({ ...base, ...input });
    expect(d.action).toBe(expected.action);
    if (expected.delayMs !== undefined) expect('delayMs' in d && d.delayMs).toBe(expected.delayMs);
    if (expected.reason) expect(d.reason).toMatch(expected.reason);
    if (d.action !== 'retry') expect(d.pendingMayBeApplied).toBe(input.error.pendingMayBeApplied);
  });

  it('has a policy for every provider error kind', () => {
    for (const kind of ERROR_KINDS) expect(KIND_POLICY[kind]).toBeDefined();
  });

  it('every stop reason for a pending version says so', () => {
    for (const kind of Object.keys(KIND_POLICY) as RotationErrorKind[]) {
      const d = decide({ ...base, attempts: 99, error: err(kind, { pendingMayBeApplied: true }) });
      if (d.action === 'alert-and-stop') expect(d.reason).toMatch(/cloud may hold/);
    }
  });
});

describe('retry delays', () => {
  it('without randomness: the backoff ceiling, doubling from initialDelay up to maxDelay', () => {
    const delays = [1, 2, 3, 4, 10, 1000].map((attempts) => {
      const d = decide({
        ...base,
        retry: { ...retry, attempts: 2000 },
        attempts,
        error: err('unknown-outcome'),
      });
      return 'delayMs' in d ? d.delayMs : undefined;
    });
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
  });

  it('with randomness: full jitter within [Retry-After, ceiling], spread over the range', () => {
    const random = seededRandom(7);
    const seen: number[] = [];
    for (let i = 0; i < 500; i++) {
      const d = decide({ ...base, attempts: 3, random, error: err('busy', { retryAfterMs: 10_000 }) });
      if (d.action !== 'retry') throw new Error(`expected retry, got ${d.action}`);
      seen.push(d.delayMs);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(120_000);
    expect(Math.max(...seen) - Math.min(...seen)).toBeGreaterThan(80_000);
  });
});
