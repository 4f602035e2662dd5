import { describe, expect, it } from 'vitest';
import { decideRetry } from '../../src/rotation/retry-decision.js';
import { Harness, faultName } from './harness.js';
import { FIRST_RUN_SITES, expectedFirstRun, matrixCases } from './matrix.js';
import type { MatrixCase } from './matrix.js';

/**
 * The interruption matrix (rotation-protocol.md): every step boundary × every fault that can happen
 * there (each ProviderError kind, store failures, an exception, an abort, a killed process), then —
 * optionally — the cloud's answer to the re-run's reset (each kind again), or a failure while
 * dropping a rejected password. After every run: the store's current password is the one the
 * cluster holds, or the error says a pending version the cloud may hold is left (and it is).
 * Re-running with the same rotation id always finishes the same rotation with one new password.
 */
const cases = matrixCases();
const MAX_RUNS = 6;

function caseName(c: MatrixCase): string {
  const second = c.second ? ` then ${c.second.site} ${faultName(c.second.fault)}` : '';
  return `${c.loginCheck ? 'login' : 'no login'}: ${c.first.site} ${faultName(c.first.fault)}${second}`;
}

describe('interruption matrix', () => {
  it('covers every first-run site and every fault kind', () => {
    const sites = new Set(cases.map((c) => c.first.site));
    expect([...sites]).toEqual(FIRST_RUN_SITES.map(([s]) => s));
    const faults = new Set(cases.map((c) => faultName(c.first.fault)));
    for (const f of [
      'crash',
      'abort',
      'kill',
      'provider:password-rejected',
      'provider:auth',
      'provider:busy',
    ]) {
      expect(faults.has(f)).toBe(true);
    }
    expect(cases.length).toBeGreaterThan(2000);
  });

  it.each(cases.map((c) => [caseName(c), c] as const))('%s', async (_name, c) => {
    const h = new Harness({ loginCheck: c.loginCheck });
    h.arm(c.first);
    if (c.second) h.arm({ ...c.second, after: c.first });

    const outcomes = await h.runUntilDone(MAX_RUNS);

    // The first run ends the way the protocol says.
    const expected = expectedFirstRun(c.first);
    const first = outcomes[0]!;
    expect(h.firedIn(c.first)).toBe(1);
    if (expected.type === 'error') {
      expect(first.type).toBe('error');
      if (first.type !== 'error') return;
      expect({ kind: first.error.kind, pendingMayBeApplied: first.error.pendingMayBeApplied }).toEqual({
        kind: expected.kind,
        pendingMayBeApplied: expected.pendingMayBeApplied,
      });
      // The caller is told to alert whenever it would stop with a pending version the cloud may hold.
      const d = decideRetry({
        error: first.error,
        counters: { failures: 0, busyMs: 0 },
        retry: { attempts: 12, initialDelay: 30_000, maxDelay: 3_600_000 },
        busyBudget: h.timing.busyBudget,
        draw: 0.5,
      });
      const alerts = d.action === 'stop' || d.alert !== undefined;
      if (alerts && first.error.pendingMayBeApplied) expect(d.reason).toMatch(/cloud may hold/);
    } else {
      expect(first.type).toBe(expected.type);
    }

    // Re-running with the same rotation id finishes the same rotation.
    expect(
      outcomes.at(-1)?.type,
      `runs: ${outcomes.map((o) => (o.type === 'error' ? o.error.kind : o.type)).join(', ')}`,
    ).toBe('ok');
    h.checkDone();
    h.checkAlways();
  });
});
