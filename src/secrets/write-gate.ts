import type { SecretStore } from './types.js';

/** The calls of SecretStore that write: one commit each on the file store. */
export type WriteOperation = 'stagePending' | 'promote' | 'dropPending';

/**
 * `store` with `before` awaited ahead of every write; a `before` that throws stops the write from
 * leaving. Reads pass straight through. `close` closes `store` unless given (a run's view of a shared
 * store does not own it). The one place that lists the writes, for the decorators below and in jobs/.
 */
export function beforeWrites(
  store: SecretStore,
  before: (operation: WriteOperation, secretId: string, versionId: string) => Promise<void>,
  close: () => Promise<void> = () => store.close(),
): SecretStore {
  return {
    type: store.type,
    async stagePending(secretId, token, text, opts) {
      await before('stagePending', secretId, token);
      return store.stagePending(secretId, token, text, opts);
    },
    async promote(secretId, versionId, opts) {
      await before('promote', secretId, versionId);
      return store.promote(secretId, versionId, opts);
    },
    async dropPending(secretId, versionId) {
      await before('dropPending', secretId, versionId);
      return store.dropPending(secretId, versionId);
    },
    getVersion: (secretId, versionId) => store.getVersion(secretId, versionId),
    getCurrent: (secretId) => store.getCurrent(secretId),
    getPrevious: (secretId) => store.getPrevious(secretId),
    getPending: (secretId) => store.getPending(secretId),
    describe: (secretId) => store.describe(secretId),
    ping: (secretId) => store.ping(secretId),
    close,
  };
}

/** Waits for a slot of the store's write quota before a write (the worker's shared limiter). */
export type WriteGate = (operation: string, signal?: AbortSignal) => Promise<void>;

/**
 * A store whose every write call first passes `gate`. For stores that do not gate their own writes
 * call by call, as the AWS store does.
 */
export function withWriteGate(store: SecretStore, gate: WriteGate | undefined): SecretStore {
  if (!gate) return store;
  return beforeWrites(store, (operation) => gate(operation));
}
