import { createHash } from 'node:crypto';

/*
 * What a rate limit is, apart from how it is kept: the providers and the store's write gate ask for
 * a slot through this interface; src/queue/rate-limit.ts keeps the slots in Redis.
 */

/** At most `max` calls in any window of `per` milliseconds. */
export interface RateLimit {
  max: number;
  per: number;
  /**
   * Also space grants evenly, at least (per + guard) / max apart, instead of letting `max` go at
   * once. For a quota counted by the second at the far end (AWS Secrets Manager's write quota): a
   * burst of `max` grants reaches the service spread out by the sender's own work, its tail can
   * overlap the next burst's head in the service's window, and the overlap is throttled.
   */
  spread?: boolean | undefined;
}

export interface RateLimiter {
  /**
   * Waits until a call under `key` is allowed, then records it. Resolves with the grant time
   * (Redis server time, epoch ms with µs fraction). Rejects with the signal's reason when aborted.
   */
  acquire(key: string, limit: RateLimit, signal?: AbortSignal): Promise<number>;
}

/**
 * The limiter key for one cloud account: provider id plus a one-way hash of its identity (the
 * access key, or the IAM token). The identity itself never reaches Redis.
 */
export function rateLimitKey(providerId: string, identity: string): string {
  const digest = createHash('sha256').update('secret-rotator/rate-limit\0').update(identity).digest('hex');
  return `${providerId}:${digest.slice(0, 32)}`;
}
