import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { ProfileSummary } from './profile.js';
import type { Row } from './table.js';

export interface Scale {
  /** Targets in the fleet, the schedules and the store scenario. */
  targets: number;
  /** Jobs per overhead run. */
  overheadJobs: number;
}

export interface BenchContext {
  redis: Redis;
  redisUrl: string;
  runs: number;
  scale: Scale;
  quick: boolean;
  profile: boolean;
  /** The repository root (where package.json is). */
  root: string;
  log(message: string): void;
}

export interface ScenarioResult {
  rows: Row[];
  /** CPU profiles of the child, by label. */
  profiles: { label: string; summary: ProfileSummary }[];
  /** Peak RSS of each measured child process, bytes; `target` is the issue's, where it has one. */
  peakRss: { label: string; bytes: number; target?: string }[];
  notes: string[];
}

export const emptyResult = (): ScenarioResult => ({ rows: [], profiles: [], peakRss: [], notes: [] });

const here = dirname(fileURLToPath(import.meta.url));

/** The compiled child script `dist/bench/children/<name>.js` (tsconfig.bench.json, `npm run bench`). */
export function childScript(name: string): string {
  return join(here, 'children', `${name}.js`);
}

export function repoRoot(): string {
  return resolve(here, '..', '..');
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `rotator-bench-${label}-`));
}

/** execArgv that writes a CPU profile into a fresh directory. */
export function profileArgs(label: string): { dir: string; execArgv: string[] } {
  const dir = tempDir(`prof-${label}`);
  return { dir, execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] };
}

export async function poll<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
