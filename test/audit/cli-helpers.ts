import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/src/cli/bin.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in a real process. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A minimal valid config whose audit trail is `trailPath`. */
export async function writeConfig(dir: string, trailPath: string): Promise<string> {
  const file = join(dir, 'rotator.yaml');
  await writeFile(
    file,
    [
      'store: { type: file, path: ./secrets.enc }',
      `audit: { path: ${JSON.stringify(trailPath)} }`,
      'targets:',
      '  - id: otc-search',
      '    provider: otc-css',
      '    region: eu-de',
      '    projectId: p1',
      '    clusterId: c1',
      '    credentials: { token: { env: OTC_TOKEN } }',
      '    secret: { id: otc-search }',
      '',
    ].join('\n'),
  );
  return file;
}
