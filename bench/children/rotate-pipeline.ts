import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { rotationTimingSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/core/clock.js';
import { generatePassword, targetPolicy } from '../../src/policy/index.js';
import { withRateLimit } from '../../src/providers/rate-limited.js';
import { createProvider } from '../../src/providers/registry.js';
import type { Provider, ProviderTarget } from '../../src/providers/types.js';
import { createRateLimiter } from '../../src/queue/rate-limit.js';
import type { RateLimit } from '../../src/util/rate-limit.js';
import { rotate } from '../../src/rotation/index.js';
import type { LoginCheck, RotationRequest } from '../../src/rotation/types.js';
import { SandboxCluster, sandboxTarget } from '../../src/sandbox/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { fleetSpecs } from '../fleet.js';
import { createKeepAliveClient, type HttpClient } from '../../src/util/http-client.js';
import { basicAuthLoginCheck } from '../../src/worker/components.js';
import { params, runChild, send } from './protocol.js';

/**
 * rotate() on BullMQ, wired by the bench the way a processor would be (one store, one provider per
 * cloud, everything built once at start): the pipeline the worker adds its own parts to. Runs until
 * SIGTERM. Job data: `{ targetId }`; the rotation id is the job id.
 */
interface Params {
  redisUrl: string;
  prefix: string;
  queue: string;
  concurrency: number;
  sandboxUrl: string;
  targets: number;
  storePath: string;
  storeKeyHex: string;
  /** ms between status polls (and before the first settle poll). */
  pollIntervalMs: number;
  rateLimit?: RateLimit;
  /** HTTP client of providers and data-plane logins: the global fetch (default) or the worker's keep-alive client. */
  http?: 'fetch' | 'node-http';
}

runChild(async () => {
  const p = params<Params>();
  const connection = new Redis(p.redisUrl, { maxRetriesPerRequest: null });
  const limiter = p.rateLimit ? createRateLimiter(connection, { prefix: p.prefix }) : undefined;
  const store = createFileStore({ path: p.storePath, keyBytes: Buffer.from(p.storeKeyHex, 'hex') });
  const httpFetch: HttpClient = p.http === 'node-http' ? createKeepAliveClient() : globalThis.fetch;
  const providers = new Map<string, Provider>();
  const providerFor = (id: string): Provider => {
    let pr = providers.get(id);
    if (!pr) {
      pr = createProvider(id, { fetch: httpFetch, clock: systemClock, timeoutMs: 30_000 });
      if (limiter && p.rateLimit) {
        const limit = p.rateLimit;
        pr = withRateLimit(pr, limiter, () => limit);
      }
      providers.set(id, pr);
    }
    return pr;
  };
  const timing = rotationTimingSchema.parse({ pollInterval: p.pollIntervalMs });
  const targets = new Map<string, { target: ProviderTarget; policy: ReturnType<typeof targetPolicy> }>();
  for (const spec of fleetSpecs(p.targets)) {
    const cluster = new SandboxCluster(spec, spec.key!, `${p.sandboxUrl}/_dataplane/${spec.key}`);
    const target = sandboxTarget(p.sandboxUrl, cluster);
    targets.set(target.config.id, { target, policy: targetPolicy(target.config.provider) });
  }
  // The worker's own data-plane check, over the same client as the providers.
  const loginFor = (target: ProviderTarget): LoginCheck => {
    const dp = target.config.dataPlane!;
    return basicAuthLoginCheck(dp.url, dp.username ?? 'admin', httpFetch, 30_000);
  };
  const worker = new Worker<{ targetId: string }>(
    p.queue,
    async (job) => {
      const entry = targets.get(job.data.targetId);
      if (!entry) throw new Error(`unknown target ${job.data.targetId}`);
      const request: RotationRequest = {
        target: entry.target,
        rotationId: `bench-${job.id}`,
        policy: entry.policy,
        timing,
      };
      const result = await rotate(request, {
        provider: providerFor(entry.target.config.provider),
        store,
        clock: systemClock,
        generatePassword: (policy) => generatePassword(policy),
        loginCheck: loginFor(entry.target),
      });
      return { versionId: result.versionId };
    },
    { connection, prefix: p.prefix, concurrency: p.concurrency },
  );
  await worker.waitUntilReady();
  await send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await worker.close();
  await store.close();
  await connection.quit();
  return { maxRssBytes: process.resourceUsage().maxRSS * 1024 };
});
