import { describe, expect, it } from 'vitest';
import { manualClock, systemClock } from '../../src/core/clock.js';

describe('clocks', () => {
  it('systemClock.sleep rejects with the signal reason when aborted', async () => {
    const ac = new AbortController();
    const reason = new Error('shutting down');
    const p = systemClock.sleep(10_000, ac.signal);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });

  it('manualClock advances on sleep without waiting', async () => {
    const clock = manualClock(1_000);
    await clock.sleep(500);
    expect(clock.now()).toBe(1_500);
  });
});
