import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Harness, faultName } from './harness.js';
import type { ArmedFault, Fault, Site } from './harness.js';
import { FIRST_RUN_SITES } from './matrix.js';

/** Every site with the faults that can hit it, including those only a re-run reaches. */
const SITE_FAULTS: [Site, Fault[]][] = [
  ...FIRST_RUN_SITES,
  ['apply.probe', [{ type: 'crash' }, { type: 'abort' }, { type: 'kill' }, { type: 'refuse', times: 1 }]],
  ...(['drop.write:before', 'drop.write:after'] as const).map((site): [Site, Fault[]] => [
    site,
    [{ type: 'store', kind: 'unavailable' }, { type: 'crash' }, { type: 'abort' }, { type: 'kill' }],
  ]),
];

const armedFault: fc.Arbitrary<ArmedFault> = fc.constantFrom(...SITE_FAULTS).chain(([site, faults]) =>
  fc.record({
    site: fc.constant(site),
    fault: fc.constantFrom(...faults),
    skip: fc.integer({ min: 0, max: 3 }),
  }),
);

const scenario = fc.record({
  loginCheck: fc.boolean(),
  busyMinutes: fc.integer({ min: 0, max: 20 }),
  /** When the new password takes effect, relative to the end of the busy window. */
  applySkewSeconds: fc.integer({ min: -60, max: 60 }),
  /** Generated passwords (by index) that the cloud rejects for good. */
  rejectedIndexes: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  faults: fc.array(armedFault, { maxLength: 5 }),
});

const MAX_RUNS = 14;

describe('interruption sequences (property)', () => {
  it('whatever fails where and how often, re-runs never lose a password and finish when they can', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const busy = s.busyMinutes * 60_000;
        const h: Harness = new Harness({
          loginCheck: s.loginCheck,
          busyAfterResetMs: busy,
          applyDelayMs: Math.max(0, busy + s.applySkewSeconds * 1000),
          accepts: (pw) => !s.rejectedIndexes.includes(h.generated.indexOf(pw)),
          timing: { maxPasswordRejections: 3 },
        });
        h.arm(...s.faults);
        const outcomes = await h.runUntilDone(MAX_RUNS);
        h.checkAlways();
        const last = outcomes.at(-1)!;
        if (last.type === 'ok') {
          h.checkDone();
          return;
        }
        // The only states a re-run cannot get out of on its own, and each says why.
        const story = outcomes.map((o) => (o.type === 'error' ? o.error.kind : o.type)).join(', ');
        expect(last.type, story).toBe('error');
        if (last.type !== 'error') return;
        const stuck =
          last.error.kind === 'rejections-exhausted' ||
          (last.error.kind === 'password-rejected' && last.error.pendingMayBeApplied);
        expect(
          stuck,
          `${story} / faults ${s.faults.map((f) => `${f.site} ${faultName(f.fault)}`).join('; ')}`,
        ).toBe(true);
        expect(s.rejectedIndexes.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });
});
