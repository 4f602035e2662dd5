import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { StoreConfig } from '../config/schema.js';
import { createAwsSecretsManagerStore } from './aws-secrets-manager/index.js';
import { createFileStore } from './file/index.js';
import { SecretStoreError, type SecretStore } from './types.js';

export type { SecretStore } from './types.js';
export { SecretStoreError } from './types.js';

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

/**
 * Who the store's write quota belongs to, for the limiter key (hashed there, never stored as is):
 * AWS counts per account and region, so region, endpoint and the access key id or profile when
 * known (a different key of the same account counts apart: an approximation). File: its path.
 */
export function storeAccountIdentity(config: StoreConfig, options: CreateStoreOptions = {}): string {
  if (config.type === 'file') return `file:${config.path}`;
  const env = options.env ?? process.env;
  const creds = options.awsClientConfig?.credentials;
  const staticKey =
    creds && typeof creds === 'object' && 'accessKeyId' in creds ? creds.accessKeyId : undefined;
  const who = staticKey
    ? `ak:${staticKey}`
    : env.AWS_ACCESS_KEY_ID
      ? `ak:${env.AWS_ACCESS_KEY_ID}`
      : env.AWS_PROFILE
        ? `profile:${env.AWS_PROFILE}`
        : 'default-chain';
  return JSON.stringify([config.region, config.endpoint ?? '', who]);
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

/**
 * A store whose every write call (stagePending, promote, dropPending: one commit each on the file
 * store) first passes `gate`. For stores that do not gate their own writes call by call, as the AWS
 * store does.
 */
export function withWriteGate(store: SecretStore, gate: CreateStoreOptions['writeGate']): SecretStore {
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
