import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { StoreConfig } from '../config/schema.js';
import { createAwsSecretsManagerStore } from './aws-secrets-manager/index.js';
import { createFileStore } from './file/index.js';
import { SecretStoreError, type SecretStore } from './types.js';
import { withWriteGate } from './write-gate.js';

export type { SecretStore } from './types.js';
export { SecretStoreError } from './types.js';
export { withWriteGate } from './write-gate.js';
export { storeAccountIdentity } from './account-identity.js';

export interface CreateStoreOptions {
  /** Environment for `store.key` references (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** aws-secrets-manager: extra SDK client config (credentials, maxAttempts, requestHandler). */
  awsClientConfig?: SecretsManagerClientConfig;
  /** aws-secrets-manager: a ready SDK client (wins over region, endpoint and awsClientConfig). */
  awsClient?: SecretsManagerClient;
  /** file: how long a write waits for another process's lock (default 10 s). */
  lockTimeoutMs?: number;
  /** file: versions kept per secret (default 100). */
  maxVersions?: number;
  /** file: clock for version dates, epoch ms. */
  now?: () => number;
  /**
   * aws-secrets-manager: waits for a slot of the account's write quota before each write try
   * (PutSecretValue, UpdateSecretVersionStage, CreateSecret); the worker passes its shared limiter.
   */
  writeGate?: (operation: string, signal?: AbortSignal) => Promise<void>;
  /** aws-secrets-manager: told of every throttled call (the worker counts them in a metric). */
  onThrottle?: (operation: string) => void;
}

type StoreFactory<T extends StoreConfig['type']> = (
  config: Extract<StoreConfig, { type: T }>,
  options: CreateStoreOptions,
) => SecretStore;

type StoreFactories = { [T in StoreConfig['type']]: StoreFactory<T> };

/** One entry per folder under src/secrets/ (a test checks that every folder is here). */
const FACTORIES = {
  'aws-secrets-manager': (config, options) =>
    createAwsSecretsManagerStore({
      region: config.region,
      endpoint: config.endpoint,
      create: config.create,
      kmsKeyId: config.kmsKeyId,
      tags: config.tags,
      clientConfig: options.awsClientConfig,
      client: options.awsClient,
      writeGate: options.writeGate,
      onThrottle: options.onThrottle,
    }),
  file: (config, options) =>
    withWriteGate(
      createFileStore({
        path: config.path,
        key: config.key,
        env: options.env,
        lockTimeoutMs: options.lockTimeoutMs,
        maxVersions: options.maxVersions,
        now: options.now,
      }),
      options.writeGate,
    ),
} satisfies StoreFactories;

/** Every store type. */
export const STORE_TYPES = Object.keys(FACTORIES) as readonly StoreConfig['type'][];

/** Builds the store the config names. A bad key or an unknown type fails here, at start-up. */
export function createStore(config: StoreConfig, options: CreateStoreOptions = {}): SecretStore {
  const type: unknown = config.type;
  if (typeof type !== 'string' || !Object.hasOwn(FACTORIES, type)) {
    throw new SecretStoreError(
      'invalid',
      `store.type '${String(type)}' must be one of: ${STORE_TYPES.join(', ')}`,
    );
  }
  return build(config, options);
}

/** The correlated-union pattern: each factory receives its own variant of the config. */
function build<T extends StoreConfig['type']>(
  config: Extract<StoreConfig, { type: T }>,
  options: CreateStoreOptions,
): SecretStore {
  const factories: StoreFactories = FACTORIES;
  const factory: StoreFactory<T> = factories[config.type as T];
  return factory(config, options);
}
