import type { SecretStore } from './types.js';

/** Waits for a slot of the store's write quota before a write (the worker's shared limiter). */
export type WriteGate = (operation: string, signal?: AbortSignal) => Promise<void>;

/**
 * A store whose every write call (stagePending, promote, dropPending: one commit each on the file
 * store) first passes `gate`. For stores that do not gate their own writes call by call, as the AWS
 * store does.
 */
export function withWriteGate(store: SecretStore, gate: WriteGate | undefined): SecretStore {
  if (!gate) return store;
  return {
    type: store.type,
    async stagePending(secretId, token, text, opts) {
      await gate('stagePending');
      return store.stagePending(secretId, token, text, opts);
    },
    async promote(secretId, versionId, opts) {
      await gate('promote');
      return store.promote(secretId, versionId, opts);
    },
    async dropPending(secretId, versionId) {
      await gate('dropPending');
      return store.dropPending(secretId, versionId);
    },
    getVersion: (secretId, versionId) => store.getVersion(secretId, versionId),
    getCurrent: (secretId) => store.getCurrent(secretId),
    getPrevious: (secretId) => store.getPrevious(secretId),
    getPending: (secretId) => store.getPending(secretId),
    describe: (secretId) => store.describe(secretId),
    ping: (secretId) => store.ping(secretId),
    close: () => store.close(),
  };
}
