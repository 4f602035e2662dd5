import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** URL of the run's Redis (a private server unless REDIS_URL was given). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A prefix no other test uses: queue names and keys live under it. */
export function uniquePrefix(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
