import { describe, expect, it } from 'vitest';
import { applyBatch, createCommitQueue, type Mutation } from '../../src/secrets/file/commit-queue.js';
import { emptyState, stagePendingIn, type StoreState } from '../../src/secrets/file/state.js';

const stage = (secretId: string, token: string) => (state: StoreState) => {
  const r = stagePendingIn(state, {
    secretId,
    token,
    text: `text-${token}`,
    now: 1_700_000_000_000,
    description: undefined,
    maxVersions: 10,
    expectPending: undefined,
  });
  return { result: r, changed: r.created };
};

describe('file store commit queue', () => {
  it('applyBatch changes a copy, reports changed secrets and one outcome per mutation', () => {
    const committed = emptyState();
    const first = applyBatch(committed, [{ secretId: 'a', apply: stage('a', 't1') }]);
    expect(committed.secrets.size).toBe(0);
    expect([...first.changedIds]).toEqual(['a']);
    expect(first.outcomes).toEqual([{ ok: true, value: { created: true } }]);

    const before = first.next.secrets.get('a');
    const second = applyBatch(first.next, [
      { secretId: 'a', apply: stage('a', 't1') },
      {
        secretId: 'b',
        apply: () => {
          throw new Error('refused');
        },
      },
      { secretId: 'c', apply: () => ({ result: 'same', changed: false }) },
    ]);
    // The touched secret is cloned: the committed one is not the one the batch changed.
    expect(first.next.secrets.get('a')).toBe(before);
    expect(second.next.secrets.get('a')).not.toBe(before);
    expect(second.next.secrets.get('a')).toEqual(before);
    expect([...second.changedIds]).toEqual([]);
    expect(second.outcomes[0]).toEqual({ ok: true, value: { created: false } });
    expect(second.outcomes[1]).toMatchObject({ ok: false });
    expect((second.outcomes[1] as { error: Error }).error.message).toBe('refused');
    expect(second.outcomes[2]).toEqual({ ok: true, value: 'same' });
  });

  it('mutations queued while a commit runs go into the next commit together', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = createCommitQueue(
      async (batch: Mutation[]) => {
        batches.push(batch.map((m) => m.secretId));
        if (batches.length === 1) await gate;
        for (const m of batch) m.resolve(m.secretId);
      },
      () => 0,
    );
    const first = queue.mutate('a', () => ({ result: undefined, changed: true }));
    await new Promise((r) => setImmediate(r));
    const rest = [
      queue.mutate('b', () => ({ result: undefined, changed: true })),
      queue.mutate('c', () => ({ result: undefined, changed: true })),
    ];
    expect(queue.idle()).toBeDefined();
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['a', 'b', 'c']);
    await queue.idle();
    expect(batches).toEqual([['a'], ['b', 'c']]);
    expect(queue.idle()).toBeUndefined();
  });
});
