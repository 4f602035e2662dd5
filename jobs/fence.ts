import { ProviderError } from '../src/providers/errors.js';
import type { Provider } from '../src/providers/types.js';
import { LEASE_LOST } from '../src/rotation/rotate.js';
import { SecretStoreError, type SecretStore } from '../src/secrets/types.js';
import { beforeWrites } from '../src/secrets/write-gate.js';

/**
 * The store and the provider as one run sees them: every store write and every reset call first
 * checks that the run still holds its target's lease (its fencing token is still the lease's). A
 * run that lost it fails there, before the write or the call leaves, as `busy` (another run has
 * the target), never with a half-done write.
 */
export function fenceStore(store: SecretStore, check: () => Promise<boolean>): SecretStore {
  const guard = async (secretId: string, versionId: string) => {
    if (!(await check())) {
      throw new SecretStoreError(
        'conflict',
        `secret ${secretId}: this run no longer holds its target's lease; write refused`,
        { secretId, versionId, code: LEASE_LOST },
      );
    }
  };
  // The run does not own the store: closing its view closes nothing.
  return beforeWrites(
    store,
    (_operation, secretId, versionId) => guard(secretId, versionId),
    async () => undefined,
  );
}

export function fenceProvider(provider: Provider, check: () => Promise<boolean>): Provider {
  return {
    id: provider.id,
    policy: provider.policy,
    defaultUsername: provider.defaultUsername,
    baseUrl: (target) => provider.baseUrl(target),
    validateTarget: (target) => provider.validateTarget(target),
    status: (target, opts) => provider.status(target, opts),
    reset: async (target, password, opts) => {
      if (!(await check())) {
        // Certainly not sent: `busy` tells the core the cloud did not take this password.
        throw new ProviderError({
          kind: 'busy',
          provider: provider.id,
          operation: 'reset',
          detail: "this run no longer holds its target's lease; reset not sent",
        });
      }
      return provider.reset(target, password, opts);
    },
  };
}
