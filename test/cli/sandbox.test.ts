import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/providers/registry.js';
import { systemClock } from '../../src/core/clock.js';
import { parseConfigText } from '../../src/worker/config.js';

const BIN = 'dist/src/cli/bin.js';
const children: ChildProcess[] = [];

function start(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, 'sandbox', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function listeningUrl(output: () => string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = /listening on (http:\/\/\S+)/.exec(output());
    if (m) return m[1]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sandbox did not start: ${output()}`);
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('rotator sandbox (the built CLI)', () => {
  it('serves the example clusters, verifies a real signed reset, and stops cleanly on SIGTERM', async () => {
    const sb = start(['--port', '0', '--quiet', '--clusters', 'config/sandbox-clusters.example.yaml']);
    const url = await listeningUrl(sb.output);

    const login = (password: string) =>
      fetch(`${url}/_dataplane/otc-demo`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      }).then((r) => r.status);
    expect(await login('Initial-Pass1')).toBe(200);

    const parsed = parseConfigText(`
store: { type: file, path: ./unused.json }
targets:
  - id: otc-demo
    provider: otc-css
    region: eu-de
    projectId: fedcba9876543210fedcba9876543210
    clusterId: 9a1b2c3d-0000-4000-8000-000000000001
    credentials: { accessKey: { env: A }, secretKey: { env: B } }
    secret: { id: sandbox/otc-demo }
    endpoint: ${url}
`);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const provider = createProvider('otc-css', { fetch, clock: systemClock, timeoutMs: 5_000 });
    const target = {
      config: parsed.config.targets[0]!,
      credentials: { accessKey: 'SANDBOX-OTC-AK', secretKey: 'sandbox-otc-secret' },
    };
    await provider.reset(target, 'Rotated-Pass-42');
    expect(await login('Rotated-Pass-42')).toBe(200);
    expect(await login('Initial-Pass1')).toBe(401);

    // a wrong secret key is refused as the cloud would (401 APIGW.0301 → auth)
    await expect(
      provider.reset(
        { ...target, credentials: { ...target.credentials, secretKey: 'wrong' } },
        'Other-Pass-43',
      ),
    ).rejects.toMatchObject({ kind: 'auth' });

    sb.child.kill('SIGTERM');
    expect(await sb.exited).toBe(0);
    expect(sb.output()).not.toContain('Rotated-Pass-42');
  });

  it('exits 2 naming the problem when the clusters file is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotator-sandbox-cli-'));
    try {
      const file = join(dir, 'clusters.yaml');
      writeFileSync(file, 'clusters:\n  - provider: nowhere-cloud\n');
      const sb = start(['--port', '0', '--clusters', file]);
      expect(await sb.exited).toBe(2);
      expect(sb.output()).toMatch(/provider/);
      expect(sb.output()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
