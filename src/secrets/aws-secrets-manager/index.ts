import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { SecretStore } from '../types.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { cryptoRandom } from '../../core/random.js';
import { createAwsCalls, type WriteOperation } from './calls.js';
import { createPromotion } from './promotion.js';
import { createReads } from './reads.js';
import { StoreRetryStrategy } from './sdk-retry.js';
import { createStaging } from './staging.js';
import type { ThrottleRetryOptions } from './throttle-retry.js';

export { WRITE_OPERATIONS, type WriteOperation } from './calls.js';
export { PUT_LABEL, STAGING_LABEL_PREFIX, UNCONFIRMED_LABEL, visibleStages } from './labels.js';

export interface AwsSecretsManagerStoreOptions {
  region: string;
  /** LocalStack or a test endpoint; default: the SDK's endpoint for the region. */
  endpoint?: string | undefined;
  /** Create the secret (without a value) when it does not exist yet. Default true. */
  create?: boolean | undefined;
  kmsKeyId?: string | undefined;
  tags?: Record<string, string> | undefined;
  /**
   * Extra SDK client configuration (credentials, maxAttempts, requestHandler...). Without
   * credentials here the SDK's default provider chain is used.
   */
  clientConfig?: SecretsManagerClientConfig | undefined;
  /** A ready client; wins over region, endpoint and clientConfig. Not destroyed by close(). */
  client?: SecretsManagerClient | undefined;
  /**
   * Waits for a slot of the account's write quota (a limiter shared by every worker) before each
   * try of a write (WRITE_OPERATIONS). Reads pass freely.
   */
  writeGate?: ((operation: WriteOperation, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Told of every throttled call (after the SDK's own attempts), to count it. */
  onThrottle?: ((operation: string) => void) | undefined;
  /** How long a throttled call is retried inside the store call (default up to 60 s in all). */
  throttleRetry?: ThrottleRetryOptions | undefined;
  /** Sleeps between throttle retries. */
  clock?: Pick<Clock, 'sleep'> | undefined;
  /** Jitter of the throttle backoff, uniform in [0, 1). */
  random?: (() => number) | undefined;
}

export interface AwsSecretsManagerStore extends SecretStore {
  readonly type: 'aws-secrets-manager';
  readonly client: SecretsManagerClient;
}

/**
 * The AWS Secrets Manager store: the SDK call layer (calls.ts), staging (staging.ts), promotion
 * (promotion.ts) and reads (reads.ts), over the label rules in labels.ts.
 */
export function createAwsSecretsManagerStore(options: AwsSecretsManagerStoreOptions): AwsSecretsManagerStore {
  const ownsClient = options.client === undefined;
  const retryDeps = { clock: options.clock ?? systemClock, random: options.random ?? cryptoRandom.float };
  const client =
    options.client ??
    new SecretsManagerClient({
      ...options.clientConfig,
      // Throttles are retried by the store, each try through the write gate (sdk-retry.ts).
      retryStrategy:
        options.clientConfig?.retryStrategy ?? new StoreRetryStrategy(options.clientConfig?.maxAttempts ?? 3),
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  const aws = createAwsCalls(client, options, retryDeps);

  const store: AwsSecretsManagerStore = {
    type: 'aws-secrets-manager',
    client,
    stagePending: createStaging(aws, options.create ?? true),
    ...createPromotion(aws),
    ...createReads(aws),
    async close() {
      if (ownsClient) client.destroy();
    },
  };
  return store;
}
