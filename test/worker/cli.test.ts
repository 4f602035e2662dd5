import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, startFleet } from './harness.js';
import { until } from './until.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');

let fleet: Fleet;
let configFile: string;
let worker: ChildProcess;
const workerOutput: string[] = [];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--config', configFile], {
      env: { ...process.env, ...fleet.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  fleet = await startFleet({
    clusters: [
      { key: 'cli-a' },
      { key: 'cli-b', provider: 'ncp-cdss' },
      { key: 'cli-frozen', faults: [{ type: 'http', status: 412 }] },
    ],
  });
  configFile = join(fleet.dir, 'rotator.yaml');
  // JSON is YAML: the validated config, written back as the file the CLI reads
  writeFileSync(configFile, JSON.stringify(fleet.config));
  worker = spawn(process.execPath, [BIN, 'worker', '--config', configFile], {
    env: { ...process.env, ...fleet.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (c: Buffer) => workerOutput.push(c.toString()));
  worker.stderr!.on('data', (c: Buffer) => workerOutput.push(c.toString()));
  await until('the worker to start', () => workerOutput.join('').includes('worker started'), 20_000);
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await fleet?.close();
});

describe('rotator rotate / status / worker', () => {
  it('unknown ids exit 2 and are named', async () => {
    const r = await run(['rotate', 'cli-a', 'nope', 'zzz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown targets: nope, zzz');
  });

  it('rotate --wait exits 0 when every rotation succeeded, with the outcomes as JSON', async () => {
    const r = await run(['rotate', 'cli-a', 'cli-b', '--wait', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const outcomes = JSON.parse(r.stdout) as { targetId: string; outcome: string }[];
    expect(outcomes.map((o) => [o.targetId, o.outcome])).toEqual([
      ['cli-a', 'succeeded'],
      ['cli-b', 'succeeded'],
    ]);
  });

  it('rotate --wait exits 1 when a rotation failed (412) and prints its outcome', async () => {
    const r = await run(['rotate', 'cli-frozen', '--wait']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cli-frozen\s+failed/);
    expect(r.stdout).toContain('precondition');
  });

  it('status shows every target with its last outcome', async () => {
    const r = await run(['status', '--json']);
    expect(r.code).toBe(0);
    const statuses = JSON.parse(r.stdout) as { id: string; lastOutcome?: string; lastErrorKind?: string }[];
    expect(statuses.map((s) => [s.id, s.lastOutcome, s.lastErrorKind])).toEqual([
      ['cli-a', 'succeeded', undefined],
      ['cli-b', 'succeeded', undefined],
      ['cli-frozen', 'failed', 'precondition'],
    ]);
    const table = await run(['status']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^TARGET\s+PROVIDER\s+SCHEDULE\s+NEXT RUN\s+LAST SUCCESS\s+LAST OUTCOME\s+OVERDUE$/,
    );
  });

  it('SIGTERM stops the worker cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workerOutput.join('')).toContain('worker stopped');
  });
});
