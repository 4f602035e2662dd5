import { describe, expect, it } from 'vitest';
import { deadline } from '../../src/util/deadline.js';

describe('deadline', () => {
  it('aborts with a TimeoutError after its time', async () => {
    const d = deadline(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).name).toBe('TimeoutError');
    d.dispose();
  });

  it('follows its parent, and after dispose no longer listens to it', () => {
    const parent = new AbortController();
    const a = deadline(10_000, parent.signal);
    const b = deadline(10_000, parent.signal);
    b.dispose();
    parent.abort(new Error('shutdown'));
    expect(a.signal.aborted).toBe(true);
    expect((a.signal.reason as Error).message).toBe('shutdown');
    expect(b.signal.aborted).toBe(false);
    a.dispose();
  });

  it('starts aborted when the parent already is', () => {
    const parent = new AbortController();
    parent.abort();
    const d = deadline(10_000, parent.signal);
    expect(d.signal.aborted).toBe(true);
    d.dispose();
  });
});
