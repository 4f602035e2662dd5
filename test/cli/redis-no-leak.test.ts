import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/util/redis-server.js';
import { type ServerGroup, serverGroup } from '../support/redis-servers.js';

/**
 * Every command that talks to Redis, run as a user would (the built CLI in a child process), with a
 * password-protected Redis that cannot be reached (a closed port) or refuses the password: the
 * password is in no byte of stdout or stderr, and the message still says which Redis failed.
 */

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');
// Generated per run, and distinctive enough that any echo of it is found.
const PASSWORD = `NoLeak-${Math.random().toString(36).slice(2, 10)}-pw`;
const SENTINEL_PASSWORD = `NoLeakSentinel-${Math.random().toString(36).slice(2, 10)}`;

let dir: string;
let closedPort: number;
let configFile: string;
const baseEnv: NodeJS.ProcessEnv = {};

interface Run {
  code: number | null;
  output: string;
}

/** Runs the CLI; with `until`, sends SIGTERM once the output matches it (for commands that keep running). */
function cli(args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rotator ${args.join(' ')} did not finish: ${output.slice(-2000)}`));
    }, 45_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      if (until?.test(output) && child.exitCode === null) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A config file whose redis block is `redis` (the rest is a valid one-target config). */
function writeConfig(name: string, redis: object): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      redis: { prefix: 'noleak', ...redis },
      store: { type: 'file', path: join(dir, 'secrets.json') },
      audit: { path: join(dir, 'audit.jsonl') },
      targets: [
        {
          id: 'search-a',
          provider: 'otc-css',
          region: 'eu-de',
          projectId: 'noleak0000000000000000000000000a',
          clusterId: 'cluster-a',
          credentials: { accessKey: { env: 'NL_AK' }, secretKey: { env: 'NL_SK' } },
          secret: { id: 'noleak/search-a' },
          endpoint: 'http://127.0.0.1:9/',
        },
      ],
    }),
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rotator-noleak-'));
  closedPort = await freePort();
  writeFileSync(join(dir, 'audit.jsonl'), '');
  const { REDIS_URL: _ignored, ...parent } = process.env;
  Object.assign(baseEnv, parent, { NL_AK: 'NOLEAKACCESSKEY000001', NL_SK: 'noleak-secret-key-value-1' });
  configFile = writeConfig('plain.json', {});
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const unreachableUrl = () => `redis://:${PASSWORD}@127.0.0.1:${closedPort}`;

/** The commands that touch Redis, and how each ends when Redis is unreachable. */
const COMMANDS: { args: string[]; until?: RegExp; code?: number }[] = [
  { args: ['status'], code: 1 },
  { args: ['status', '--json'], code: 1 },
  { args: ['rotate', '--all'], code: 1 },
  { args: ['rotate', '--all', '--wait', '--json'], code: 1 },
  { args: ['rotate', 'search-a'], code: 1 },
  { args: ['rotate', 'search-a', '--wait'], code: 1 },
  // the audit trail is read from the file; only the job logs need Redis: a warning, exit 0
  { args: ['audit'], code: 0 },
  // the worker keeps waiting for Redis (it may come back): stopped once it has said why it waits
  { args: ['worker'], until: /redis connection error/ },
];

function expectNoPassword(output: string, ...passwords: string[]): void {
  for (const pw of passwords) {
    expect(output).not.toContain(pw);
    expect(output).not.toContain(encodeURIComponent(pw));
  }
}

describe('no Redis password in any output: REDIS_URL=redis://:pw@127.0.0.1:<closed port>', () => {
  it.each(COMMANDS.map((c) => [c.args.join(' '), c] as const))(
    'rotator %s',
    async (_name, c) => {
      const r = await cli(
        [...c.args, '--config', configFile],
        { ...baseEnv, REDIS_URL: unreachableUrl() },
        c.until,
      );
      if (c.code !== undefined) expect(r.code).toBe(c.code);
      expectNoPassword(r.output, PASSWORD);
      // the message names the Redis that failed, without its credentials
      expect(r.output).toContain(`127.0.0.1:${closedPort}`);
      if (c.args[0] !== 'worker')
        expect(r.output).toContain(`cannot reach Redis at redis://127.0.0.1:${closedPort}`);
    },
    60_000,
  );

  it('rotator demo', async () => {
    const r = await cli(['demo', '--once'], { ...baseEnv, REDIS_URL: unreachableUrl() });
    expect(r.code).toBe(1);
    expectNoPassword(r.output, PASSWORD);
    expect(r.output).toContain(`cannot reach Redis at redis://127.0.0.1:${closedPort} (REDIS_URL)`);
  }, 60_000);
});

describe('no Redis password in any output: redis.password from the environment', () => {
  it.each([
    ['url', () => ({ url: `redis://127.0.0.1:${closedPort}` }), () => `redis://127.0.0.1:${closedPort}`],
    [
      'sentinel',
      () => ({
        sentinel: { name: 'm', nodes: [`127.0.0.1:${closedPort}`], password: { env: 'NL_SENTINEL_PW' } },
      }),
      () => `sentinel master 'm' via 127.0.0.1:${closedPort}`,
    ],
    [
      'cluster',
      () => ({ cluster: { nodes: [`127.0.0.1:${closedPort}`] } }),
      () => `cluster 127.0.0.1:${closedPort}`,
    ],
  ])(
    '%s: status, rotate --wait and worker',
    async (kind, block, described) => {
      const file = writeConfig(`${kind}.json`, { ...block(), password: { env: 'NL_REDIS_PW' } });
      const env = { ...baseEnv, NL_REDIS_PW: PASSWORD, NL_SENTINEL_PW: SENTINEL_PASSWORD };
      for (const c of [COMMANDS[0]!, COMMANDS[5]!]) {
        const r = await cli([...c.args, '--config', file], env);
        expect(r.code).toBe(1);
        expectNoPassword(r.output, PASSWORD, SENTINEL_PASSWORD);
        expect(r.output).toContain(`cannot reach Redis at ${described()}`);
      }
      const w = await cli(['worker', '--config', file], env, /redis connection error/);
      expectNoPassword(w.output, PASSWORD, SENTINEL_PASSWORD);
    },
    120_000,
  );
});

describe('no Redis password in any output: a reachable Redis refuses the password', () => {
  let group: ServerGroup;
  let port: number;
  beforeAll(async () => {
    group = await serverGroup('noleak');
    port = await freePort();
    await group.start([
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--requirepass',
      'right-one-x',
    ]);
  }, 30_000);
  afterAll(async () => {
    await group?.stop();
  });

  it('status and rotate --wait fail naming the problem, not the password', async () => {
    const env = { ...baseEnv, REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` };
    for (const args of [['status'], ['rotate', 'search-a', '--wait']]) {
      const r = await cli([...args, '--config', configFile], env);
      expect(r.code).toBe(1);
      expectNoPassword(r.output, PASSWORD);
      expect(r.output).toMatch(/WRONGPASS|NOAUTH/);
    }
  }, 60_000);
});
