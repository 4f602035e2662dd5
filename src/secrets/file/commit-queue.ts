import type { StoreState } from './state.js';

/** One queued change to one secret: `apply` checks before it changes anything, or throws. */
export interface Mutation {
  secretId: string;
  apply: (state: StoreState) => { result: unknown; changed: boolean };
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Applies a batch to a copy of `committed` in which each secret a mutation touches is cloned
 * first, so the committed state (what readers see) is never changed, and a mutation that throws
 * fails alone. Pure: returns the next state, the secrets that changed and one outcome per mutation.
 */
export function applyBatch(
  committed: StoreState,
  batch: readonly Pick<Mutation, 'secretId' | 'apply'>[],
): { next: StoreState; changedIds: Set<string>; outcomes: Outcome[] } {
  const next: StoreState = { secrets: new Map(committed.secrets) };
  const cloned = new Set<string>();
  const changedIds = new Set<string>();
  const outcomes: Outcome[] = [];
  for (const m of batch) {
    if (!cloned.has(m.secretId)) {
      const secret = next.secrets.get(m.secretId);
      if (secret) next.secrets.set(m.secretId, structuredClone(secret));
      cloned.add(m.secretId);
    }
    try {
      const r = m.apply(next);
      if (r.changed) changedIds.add(m.secretId);
      outcomes.push({ ok: true, value: r.result });
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return { next, changedIds, outcomes };
}

/**
 * Group commit: the mutations queued while a write is in progress go into the next one. `commit`
 * settles every mutation of its batch; `delayMs` is how long to wait before the first batch
 * (read each time the queue starts).
 */
export function createCommitQueue(
  commit: (batch: Mutation[]) => Promise<void>,
  delayMs: () => number,
): {
  mutate<T>(secretId: string, apply: (state: StoreState) => { result: T; changed: boolean }): Promise<T>;
  /** Resolves once the queue is empty (undefined while it is idle). */
  idle(): Promise<void> | undefined;
} {
  let pending: Mutation[] = [];
  let flushing: Promise<void> | undefined;

  async function flush(): Promise<void> {
    const delay = delayMs();
    if (delay >= 1) await new Promise((r) => setTimeout(r, Math.min(delay, 25)));
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await commit(batch);
    }
    flushing = undefined;
  }

  return {
    mutate<T>(secretId: string, apply: (state: StoreState) => { result: T; changed: boolean }): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ secretId, apply, resolve: resolve as (v: unknown) => void, reject });
        flushing ??= flush();
      });
    },
    idle: () => flushing,
  };
}
