import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../src/config/schema.js';
import type { PasswordPolicy } from '../../src/policy/types.js';
import { accountIdentity, limitsFromConfig, withRateLimit } from '../../src/providers/rate-limited.js';
import type { Provider, ProviderTarget } from '../../src/providers/types.js';
import { createRateLimiter } from '../../src/queue/rate-limit.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

/** A provider that only records which calls reached it: the wrapper under test is what matters. */
function recordingProvider(): Provider & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    id: 'huaweicloud-css',
    policy: {
      minLength: 8,
      maxLength: 32,
      specials: '!',
      requiredClasses: [],
      minClasses: 3,
      forbiddenSubstrings: [],
    } satisfies PasswordPolicy,
    defaultUsername: 'admin',
    baseUrl: (t) => `https://css.${t.region}.example`,
    validateTarget: () => [{ path: ['region'], message: 'checked' }],
    async reset(target) {
      calls.push(`reset ${target.config.id}`);
      return { status: 200, requestId: 'r1' };
    },
    async status(target) {
      calls.push(`status ${target.config.id}`);
      return { state: 'ready' };
    },
  };
}

function target(id: string, credentials: ProviderTarget['credentials']): ProviderTarget {
  return {
    config: { id, provider: 'huaweicloud-css', region: 'eu-west-101' } as TargetConfig,
    credentials,
  };
}

describe('withRateLimit', () => {
  const prefix = uniquePrefix('rl-provider');
  const redisA = new Redis(redisUrl());
  const redisB = new Redis(redisUrl());

  afterAll(async () => {
    const keys = await redisA.keys(`${prefix}:*`);
    if (keys.length > 0) await redisA.del(...keys);
    redisA.disconnect();
    redisB.disconnect();
  });

  it('lets at most max calls per account through, shared by two workers, and passes the rest through', async () => {
    const inner = recordingProvider();
    const limits = limitsFromConfig({
      providers: { 'huaweicloud-css': { rateLimit: { max: 2, per: 60_000 } } },
    });
    const workerA = withRateLimit(inner, createRateLimiter(redisA, { prefix }), limits);
    const workerB = withRateLimit(inner, createRateLimiter(redisB, { prefix }), limits);

    expect(workerA.id).toBe('huaweicloud-css');
    expect(workerA.defaultUsername).toBe('admin');
    expect(workerA.policy).toBe(inner.policy);
    const t1 = target('c1', { accessKey: 'AK-ONE-ACCOUNT', secretKey: 'SK-one' });
    const t2 = target('c2', { accessKey: 'AK-ONE-ACCOUNT', secretKey: 'SK-one' });
    expect(workerA.baseUrl(t1.config)).toBe('https://css.eu-west-101.example');
    expect(workerA.validateTarget(t1.config)).toEqual([{ path: ['region'], message: 'checked' }]);

    // Five calls for one account within a minute: two get through, three wait until their signal fires.
    const signal = AbortSignal.timeout(400);
    const results = await Promise.allSettled([
      workerA.status(t1, { signal }),
      workerB.reset(t2, 'pw-one', { signal }),
      workerA.status(t2, { signal }),
      workerB.status(t1, { signal }),
      workerA.reset(t1, 'pw-two', { signal }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(inner.calls).toHaveLength(2);

    // Another account of the same provider has its own budget.
    const other = target('c3', { token: 'IAM-TOKEN-OTHER-ACCOUNT' });
    await workerB.status(other);
    expect(inner.calls.at(-1)).toBe('status c3');

    // Redis holds neither the access key nor the token.
    const keys = await redisA.keys(`${prefix}:*`);
    expect(keys).toHaveLength(2);
    for (const k of keys) {
      expect(k).not.toMatch(/AK-ONE|IAM-TOKEN/);
      for (const m of await redisA.zrange(k, 0, '-1')) expect(m).not.toMatch(/AK-ONE|IAM-TOKEN/);
    }
  });

  it('calls straight through when the provider has no limit configured', async () => {
    const inner = recordingProvider();
    const p = withRateLimit(
      inner,
      createRateLimiter(redisA, { prefix: `${prefix}-none` }),
      limitsFromConfig({ providers: {} }),
    );
    for (let i = 0; i < 5; i++) await p.status(target('c1', { accessKey: 'AK', secretKey: 'SK' }));
    expect(inner.calls).toHaveLength(5);
    expect(await redisA.keys(`${prefix}-none:*`)).toEqual([]);
  });

  it('bills a target to its access key, else its token, else itself', () => {
    expect(accountIdentity(target('a', { accessKey: 'AK1', secretKey: 'x' }))).toBe('ak:AK1');
    expect(accountIdentity(target('a', { token: 'T1' }))).toBe('token:T1');
    expect(accountIdentity(target('a', {}))).toBe('target:a');
  });
});
