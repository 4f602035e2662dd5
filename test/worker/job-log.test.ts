import { describe, expect, it } from 'vitest';
import { createJobLogBuffer } from '../../jobs/job-log.js';

describe('job log buffer', () => {
  it('writes the lines of a quick run in one batch on flush, in order', async () => {
    const writes: string[][] = [];
    const log = createJobLogBuffer(
      async (lines) => void writes.push(lines),
      () => undefined,
      10_000,
    );
    for (const l of ['start', 'check ok', 'stage ok', 'apply ok']) log.add(l);
    expect(writes).toEqual([]);
    await log.flush();
    expect(writes).toEqual([['start', 'check ok', 'stage ok', 'apply ok']]);
    await log.flush();
    expect(writes).toHaveLength(1);
  });

  it('a slow run shows its lines within the interval, without waiting for the end', async () => {
    const writes: string[][] = [];
    const log = createJobLogBuffer(
      async (lines) => void writes.push(lines),
      () => undefined,
      30,
    );
    log.add('check ok');
    log.add('stage ok');
    await new Promise((r) => setTimeout(r, 120));
    expect(writes).toEqual([['check ok', 'stage ok']]);
    log.add('apply ok');
    await log.flush();
    expect(writes).toEqual([['check ok', 'stage ok'], ['apply ok']]);
  });

  it('keeps batches in order when a write is slow, and reports a failed write without rejecting', async () => {
    const writes: string[][] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const log = createJobLogBuffer(
      async (lines) => {
        calls++;
        if (calls === 1) await new Promise((r) => setTimeout(r, 50));
        if (calls === 2) throw new Error('redis down');
        writes.push(lines);
      },
      (e) => errors.push(e),
      10_000,
    );
    log.add('a');
    const first = log.flush();
    log.add('b');
    const second = log.flush();
    log.add('c');
    await Promise.all([first, second, log.flush()]);
    expect(writes).toEqual([['a'], ['c']]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['redis down']);
  });
});

describe('job log buffer: a failing error reporter', () => {
  it('does not stop the batches that follow', async () => {
    const writes: string[][] = [];
    let calls = 0;
    const log = createJobLogBuffer(
      async (lines) => {
        if (++calls === 1) throw new Error('redis down');
        writes.push(lines);
      },
      () => {
        throw new Error('logger broken');
      },
      10_000,
    );
    log.add('a');
    await log.flush();
    log.add('b');
    await log.flush();
    expect(writes).toEqual([['b']]);
  });
});
