import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { type PrivateRedis, startPrivateRedis } from '../../src/util/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisIsPrivate: boolean;
  }
}

/**
 * One redis-server for the whole run, on a free port, unless REDIS_URL names one.
 * A server we did not start is never flushed: every test works under its own prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests that run real child processes (workers, killed writers) run the built code in dist/:
  // build it once so they never run a stale copy.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const given = process.env.REDIS_URL;
  if (given) {
    project.provide('redisUrl', given);
    project.provide('redisIsPrivate', false);
    return async () => {};
  }
  const redis: PrivateRedis = await startPrivateRedis();
  project.provide('redisUrl', redis.url);
  project.provide('redisIsPrivate', true);
  return () => redis.stop();
}
