import { Redis } from 'ioredis';
import { systemClock } from '../../src/core/clock.js';
import { generatePassword } from '../../src/policy/index.js';
import { createProvider } from '../../src/providers/registry.js';
import { withRateLimit } from '../../src/providers/rate-limited.js';
import type { Provider, ProviderTarget } from '../../src/providers/types.js';
import { createRateLimiter } from '../../src/queue/rate-limit.js';
import type { RateLimit } from '../../src/util/rate-limit.js';
import { SandboxCluster, sandboxTarget } from '../../src/sandbox/index.js';
import { fleetSpecs } from '../fleet.js';
import { params, runChild, send } from './protocol.js';

/**
 * The cloud-facing floor, without queue or store: for every target the provider calls a rotation
 * makes (status until ready, reset, status until settled), `concurrency` targets at a time.
 */
interface Params {
  sandboxUrl: string;
  targets: number;
  concurrency: number;
  /** Per cloud account, through the shared Redis limiter (src/queue/rate-limit.ts). */
  rateLimit?: RateLimit;
  redisUrl?: string;
  prefix?: string;
}

runChild(async () => {
  const p = params<Params>();
  const providers = new Map<string, Provider>();
  const redis = p.rateLimit && p.redisUrl ? new Redis(p.redisUrl, { maxRetriesPerRequest: null }) : undefined;
  const limiter = redis ? createRateLimiter(redis, { prefix: p.prefix ?? 'bench' }) : undefined;
  const targets: ProviderTarget[] = fleetSpecs(p.targets).map((spec) => {
    const cluster = new SandboxCluster(spec, spec.key!, `${p.sandboxUrl}/_dataplane/${spec.key}`);
    return sandboxTarget(p.sandboxUrl, cluster);
  });
  const providerFor = (id: string) => {
    let pr = providers.get(id);
    if (!pr) {
      pr = createProvider(id, { fetch: globalThis.fetch, clock: systemClock, timeoutMs: 30_000 });
      if (limiter && p.rateLimit) {
        const limit = p.rateLimit;
        pr = withRateLimit(pr, limiter, () => limit);
      }
      providers.set(id, pr);
    }
    return pr;
  };
  const untilReady = async (pr: Provider, t: ProviderTarget) => {
    for (let i = 0; i < 100; i++) {
      if ((await pr.status(t)).state === 'ready') return;
    }
    throw new Error(`target ${t.config.id} never ready`);
  };
  await send({ type: 'ready' });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const t = targets[next++]!;
      const pr = providerFor(t.config.provider);
      await untilReady(pr, t);
      await pr.reset(t, generatePassword(pr.policy));
      await untilReady(pr, t);
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, lane));
  const c1 = process.cpuUsage(c0);
  await redis?.quit();
  return {
    wallMs: performance.now() - t0,
    cpuMs: (c1.user + c1.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
});
