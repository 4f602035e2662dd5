import { StandardRetryStrategy } from '@smithy/core/retry';
import type { Provider, RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from '@smithy/types';

/**
 * The SDK's standard retry strategy (same attempts, backoff and retry quota), except that it never
 * retries a throttle. The store retries throttles itself (throttle-retry.ts), and each of its tries
 * first takes a slot of the account's shared write quota (`writeGate`). An SDK retry would go back
 * to AWS without a slot: under a full quota it is throttled again, and it takes a slot that another
 * worker was granted. Measured with the bench (200 targets, quota 50/s, store.rateLimit at the
 * quota): the SDK's own retries made 11-22% of all writes throttled.
 */
export class StoreRetryStrategy implements RetryStrategyV2 {
  readonly #standard: StandardRetryStrategy;

  constructor(maxAttempts: number | Provider<number> = 3) {
    const attempts: Provider<number> =
      typeof maxAttempts === 'number' ? () => Promise.resolve(maxAttempts) : maxAttempts;
    this.#standard = new StandardRetryStrategy(attempts);
  }

  acquireInitialRetryToken(scope: string): Promise<StandardRetryToken> {
    return this.#standard.acquireInitialRetryToken(scope);
  }

  refreshRetryTokenForRetry(
    token: StandardRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    if (errorInfo.errorType === 'THROTTLING') {
      // Refused: the SDK then throws the throttle itself, for the store's own retry.
      return Promise.reject(new Error('a throttle is retried by the secret store, through its write gate'));
    }
    return this.#standard.refreshRetryTokenForRetry(token, errorInfo);
  }

  recordSuccess(token: StandardRetryToken): void {
    this.#standard.recordSuccess(token);
  }
}
