import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RotatorConfig } from '../../src/config/schema.js';

export interface WorkerChild {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const ENTRY = join(import.meta.dirname, '..', 'children', 'worker.mjs');

/** Starts test/children/worker.mjs (the built worker) and waits for READY. */
export async function startWorkerChild(
  config: RotatorConfig,
  env: NodeJS.ProcessEnv,
  dir: string,
  extra: Record<string, string> = {},
): Promise<WorkerChild> {
  const configFile = join(dir, `worker-config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, WORKER_CONFIG: configFile, WORKER_ENV: JSON.stringify(env), ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    output.push(...lines);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker child not ready: ${output.join('\n').slice(-2000)}`)),
      20_000,
    );
    const check = setInterval(() => {
      if (output.includes('READY')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    void exited.then(() => {
      clearInterval(check);
      clearTimeout(timer);
      if (!output.includes('READY'))
        reject(new Error(`worker child exited early: ${output.join('\n').slice(-2000)}`));
    });
  });
  return {
    child,
    output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
