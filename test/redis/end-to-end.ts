import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RedisConfigInput } from '../../src/config/redis-schema.js';
import type { TargetStatus } from '../../src/rotation/target-status.js';
import { createStore } from '../../src/secrets/index.js';
import { dumpRedis } from '../support/redis-dump.js';
import { type Fleet, startFleet } from '../worker/harness.js';
import { until } from '../worker/until.js';
import { readPassword } from '../../src/secrets/format.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');
const HTTP_TOKEN = 'end-to-end-http-token-0123456789';

export interface EndToEndOptions {
  /** The redis block (the prefix is the harness's). */
  redis: Omit<RedisConfigInput, 'prefix'>;
  /** Values of the block's references (passwords). */
  redisEnv: Record<string, string>;
  /** Values that must appear in no output and nowhere in Redis (the Redis passwords). */
  secrets: string[];
  /** How the worker's start line names Redis (never with credentials). */
  describedAs: string;
}

export interface EndToEndResult {
  fleet: Fleet;
  /** Every key and value in Redis after the run. */
  dump: string[];
  /** The worker's and the CLI's combined stdout and stderr. */
  output: string;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real CLI end to end on the given Redis: `rotator worker` (with its HTTP server) as a child
 * process, `rotator rotate --all --wait` and `rotator status` from the same config file; every
 * sandbox cluster ends with the store's current password, and no password (the Redis ones, the
 * generated ones) is in any output or anywhere in Redis. Returns the fleet still open: the caller
 * checks what is particular to its topology, then closes it.
 */
export async function rotateEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const fleet = await startFleet({
    clusters: [
      { key: 'e2e-otc' },
      { key: 'e2e-ncp', provider: 'ncp-cdss' },
      { key: 'e2e-hw', provider: 'huaweicloud-css' },
    ],
    redis: options.redis,
    redisEnv: { ...options.redisEnv, E2E_HTTP_TOKEN: HTTP_TOKEN },
    config: { http: { port: 0, token: { env: 'E2E_HTTP_TOKEN' } } },
  });
  const configFile = join(fleet.dir, 'rotator.json');
  writeFileSync(configFile, JSON.stringify(fleet.config));
  // The config file alone says where Redis is: a REDIS_URL of the test run must not override it.
  const { REDIS_URL: _ignored, ...parentEnv } = process.env;
  const env = { ...parentEnv, ...fleet.env };
  const outputs: string[] = [];
  const cli = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args, '--config', configFile], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('exit', (code) => {
        outputs.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      });
    });

  const worker: ChildProcess = spawn(process.execPath, [BIN, 'worker', '--config', configFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const workerOutput: string[] = [];
  worker.stdout!.on('data', (c: Buffer) => workerOutput.push(c.toString()));
  worker.stderr!.on('data', (c: Buffer) => workerOutput.push(c.toString()));
  try {
    const started = await until(
      'the worker to start',
      () => {
        if (worker.exitCode !== null) throw new Error(`worker exited: ${workerOutput.join('')}`);
        return workerOutput
          .join('')
          .split('\n')
          .find((l) => l.includes('"worker started"'));
      },
      30_000,
    );
    expect(JSON.parse(started)).toMatchObject({
      redis: options.describedAs,
      prefix: fleet.config.redis.prefix,
    });
    const httpUrl = (
      JSON.parse(
        workerOutput
          .join('')
          .split('\n')
          .find((l) => l.includes('"http server listening"'))!,
      ) as {
        url: string;
      }
    ).url;

    const rotated = await cli(['rotate', '--all', '--wait', '--json', '--timeout', '60s']);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const outcomes = JSON.parse(rotated.stdout) as { targetId: string; outcome: string }[];
    expect(outcomes.map((o) => [o.targetId, o.outcome])).toEqual([
      ['e2e-otc', 'succeeded'],
      ['e2e-ncp', 'succeeded'],
      ['e2e-hw', 'succeeded'],
    ]);

    // Each cluster accepts exactly the password the store now holds as current.
    const store = createStore(fleet.config.store, { env: fleet.env });
    const generated: string[] = [];
    try {
      for (const [key, cluster] of fleet.clusters) {
        const current = await store.getCurrent(`h/${key}`);
        expect(readPassword(current!.text, 'json')).toBe(cluster.password);
        expect(cluster.resetsApplied).toBe(1);
        generated.push(cluster.password);
      }
    } finally {
      await store.close();
    }

    const status = await cli(['status', '--json']);
    expect(status.code).toBe(0);
    const statuses = JSON.parse(status.stdout) as TargetStatus[];
    expect(statuses.map((s) => s.lastOutcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    // The HTTP server answers from the worker's connection.
    const ready = await fetch(`${httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    await ready.body?.cancel();
    const targets = await fetch(`${httpUrl}/api/targets`, {
      headers: { authorization: `Bearer ${HTTP_TOKEN}` },
    });
    expect(targets.status).toBe(200);
    const listed = JSON.stringify(await targets.json());
    for (const key of fleet.clusters.keys()) expect(listed).toContain(key);

    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);

    const dump = await dumpRedis(fleet.redis);
    const output = [...workerOutput, ...outputs].join('');
    expect(output).toContain('worker stopped');
    for (const secret of [...options.secrets, ...generated]) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(output).not.toContain(secret);
      expect(dump.join('\n')).not.toContain(secret);
    }
    return { fleet, dump, output };
  } catch (err) {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await fleet.close();
    throw err;
  }
}
