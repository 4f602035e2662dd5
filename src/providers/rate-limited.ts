import type { RotatorConfig } from '../config/schema.js';
import { type RateLimit, type RateLimiter, rateLimitKey } from '../util/rate-limit.js';
import type { Provider, ProviderTarget } from './types.js';

/** The limit for one target's cloud account, or undefined for no limit. */
export type LimitsFor = (target: ProviderTarget) => RateLimit | undefined;

/** `providers.<id>.rateLimit` from the config, per target. */
export function limitsFromConfig(config: Pick<RotatorConfig, 'providers'>): LimitsFor {
  return (target) => config.providers[target.config.provider]?.rateLimit;
}

/**
 * Which account a call is billed to, as far as the cloud's rate limit goes: the access key, else the
 * IAM token (a new token, e.g. after its 24 h expiry, counts as a new account: a known approximation),
 * else the target itself. Only a hash of it reaches Redis (rateLimitKey).
 */
export function accountIdentity(target: ProviderTarget): string {
  const { accessKey, token } = target.credentials;
  if (accessKey) return `ak:${accessKey}`;
  if (token) return `token:${token}`;
  return `target:${target.config.id}`;
}

/** The same provider, but every reset/status call first takes a slot from the shared limiter. */
export function withRateLimit(provider: Provider, limiter: RateLimiter, limitsFor: LimitsFor): Provider {
  const take = async (target: ProviderTarget, signal: AbortSignal | undefined) => {
    const limit = limitsFor(target);
    if (!limit) return;
    await limiter.acquire(rateLimitKey(provider.id, accountIdentity(target)), limit, signal);
  };
  return {
    id: provider.id,
    policy: provider.policy,
    defaultUsername: provider.defaultUsername,
    baseUrl: (target) => provider.baseUrl(target),
    validateTarget: (target) => provider.validateTarget(target),
    async reset(target, password, opts) {
      await take(target, opts?.signal);
      return provider.reset(target, password, opts);
    },
    async status(target, opts) {
      await take(target, opts?.signal);
      return provider.status(target, opts);
    },
  } satisfies Provider;
}
