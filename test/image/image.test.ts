// The container image without a Docker engine: the Dockerfile's settings are read and checked, and
// the final stage's own command line (CMD, WORKDIR, ENV, HEALTHCHECK) is run against a temp folder
// laid out like the image (/config, /data owned by the image's user) as a non-root user.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/worker/config.js';
import { type Fleet, startFleet } from '../worker/harness.js';
import { until } from '../worker/until.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const runFile = promisify(execFile);

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, continuation lines joined, comments dropped. */
function dockerfileStages(): Stage[] {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM (\S+)/.exec(line);
    if (from) stages.push({ from: from[1]!, lines: [] });
    else stages.at(-1)!.lines.push(line);
  }
  return stages;
}

const stages = dockerfileStages();
const final = stages.at(-1)!;
/** The arguments of the final stage's last `<instruction>` line. */
function last(instruction: string): string | undefined {
  const line = final.lines.filter((l) => l.startsWith(`${instruction} `)).at(-1);
  return line?.slice(instruction.length + 1).trim();
}
const cmd = JSON.parse(last('CMD')!) as string[];
const healthcheck = last('HEALTHCHECK')!;
const healthCmd = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
const exposed = Number(last('EXPOSE'));
const workdir = last('WORKDIR')!;
const user = last('USER')!;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};

describe('the Dockerfile', () => {
  it('builds and runs on node:24-slim as the non-root user node', () => {
    expect(stages.map((s) => s.from.replace(/ AS .*/, ''))).toEqual(['node:24-slim', 'node:24-slim']);
    expect(user).toBe('node');
  });

  it('declares /data as a volume owned by node before it, and runs from / so ./data is /data', () => {
    const volume = final.lines.findIndex((l) => l.startsWith('VOLUME '));
    expect(JSON.parse(last('VOLUME')!)).toEqual(['/data']);
    const chown = final.lines.findIndex((l) => /^RUN .*mkdir -p \/data.*chown node:node \/data/.test(l));
    expect(chown).toBeGreaterThanOrEqual(0);
    expect(chown).toBeLessThan(volume);
    expect(workdir).toBe('/');
    // The defaults the config schema gives land on the volume.
    const config = readConfigFile(join(root, 'config/docker/rotator.yaml'));
    if (!config.ok) throw new Error(JSON.stringify(config.problems));
    expect(posix.resolve(workdir, config.config.audit.path)).toBe('/data/audit.jsonl');
  });

  it('exposes the HTTP port of the docker config and health-checks /healthz on it', () => {
    const config = readConfigFile(join(root, 'config/docker/rotator.yaml'));
    if (!config.ok) throw new Error(JSON.stringify(config.problems));
    expect(config.config.http?.port).toBe(exposed);
    expect(config.config.http?.host).toBe('0.0.0.0');
    expect(healthCmd.join(' ')).toContain(`http://127.0.0.1:${exposed}/healthz`);
  });

  it('carries the OCI labels, the version being the package version', () => {
    const labels = Object.fromEntries(
      [
        ...final.lines
          .filter((l) => l.startsWith('LABEL '))
          .join(' ')
          .matchAll(/(org\.opencontainers\.[\w.]+)="([^"]*)"/g),
      ].map((m) => [m[1], m[2]]),
    );
    expect(labels['org.opencontainers.image.title']).toBe('secret-rotator');
    expect(labels['org.opencontainers.image.licenses']).toBe(pkg.license);
    expect(labels['org.opencontainers.image.version']).toBe('${VERSION}');
    expect(last('ARG')).toBe(`VERSION=${pkg.version}`);
    expect(labels['org.opencontainers.image.description']).toBeTruthy();
  });

  it('leaves tests and the bench out of the build context and of the compiled code', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const dir of ['test', 'bench', 'node_modules', 'dist', '.git']) expect(ignored).toContain(dir);
    const build = stages[0]!.lines.find((l) => l.startsWith('RUN npx tsc'))!;
    const tsconfig = /-p (\S+)/.exec(build)![1]!;
    const include = (JSON.parse(readFileSync(join(root, tsconfig), 'utf8')) as { include: string[] }).include;
    expect(include.sort()).toEqual(['jobs', 'src']);
  });
});

describe("the image's command line, as a non-root user, in an image-like folder", () => {
  let fleet: Fleet;
  let image: string;
  let worker: ChildProcess | undefined;
  const output: string[] = [];
  // Root runs it as nobody (setpriv); anyone else is already not root.
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? 65534 : process.getuid!();
  const gid = asRoot ? 65534 : process.getgid!();

  /** An argv of the image (node, /app/...) for this machine, as the image's user. */
  function local(argv: string[]): string[] {
    const mapped = argv.map((a, i) =>
      i === 0 && a === 'node' ? process.execPath : a.startsWith('/app/') ? join(root, a.slice(5)) : a,
    );
    return asRoot
      ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...mapped]
      : mapped;
  }

  function env(): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = { ...process.env, ...fleet.env, IMAGE_HTTP_TOKEN: 'image-test-token' };
    for (const line of final.lines.filter((l) => l.startsWith('ENV '))) {
      const [k, v] = line.slice(4).split('=');
      e[k!] = v;
    }
    // The default config path (config/rotator.yaml from WORKDIR /) is what the image uses.
    delete e.ROTATOR_CONFIG;
    return e;
  }

  function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const [file, ...args] = local(argv);
    return runFile(file!, args, { cwd: image, env: env(), timeout: 60_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof err.code === 'number' ? err.code : -1,
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );
  }

  beforeAll(async () => {
    fleet = await startFleet({ clusters: [{ key: 'image-a' }] });
    // The image's root: /config (read-only for the worker), /data owned by the image's user, mode
    // as in the Dockerfile. The image's / is not writable by that user; neither is this folder.
    image = mkdtempSync(join(tmpdir(), 'rotator-image-'));
    chmodSync(image, 0o755);
    mkdirSync(join(image, 'config'), { mode: 0o755 });
    mkdirSync(join(image, 'data'), { mode: 0o750 });
    chownSync(join(image, 'data'), uid, gid);
    const config: Record<string, unknown> = {
      ...fleet.config,
      // The file store where docs/operations.md puts it; the audit trail at its default.
      store: { type: 'file', path: './data/secrets.json' },
      http: { port: 0, host: '127.0.0.1', token: { env: 'IMAGE_HTTP_TOKEN' } },
    };
    delete config.audit;
    writeFileSync(join(image, 'config', 'rotator.yaml'), JSON.stringify(config), { mode: 0o644 });

    const [file, ...args] = local(cmd);
    worker = spawn(file!, args, { cwd: image, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    worker.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    await until(
      'the worker to start',
      () => {
        if (worker!.exitCode !== null)
          throw new Error(`the worker exited ${worker!.exitCode}:\n${output.join('')}`);
        return output.join('').includes('worker started');
      },
      30_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await fleet?.close();
    if (image) rmSync(image, { recursive: true, force: true });
  });

  it('reads /config/rotator.yaml, rotates, and keeps the file store and the audit trail in /data', async () => {
    const r = await run(['node', cmd[1]!, 'rotate', 'image-a', '--wait', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { outcome: string }[]).map((o) => o.outcome)).toEqual(['succeeded']);
    for (const name of ['audit.jsonl', 'secrets.json', 'secrets.json.key']) {
      const s = statSync(join(image, 'data', name));
      expect(s.uid, name).toBe(uid);
    }
    expect(statSync(join(image, 'data', 'secrets.json.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(image, 'data', 'audit.jsonl'), 'utf8')).toContain('"image-a"');
    // The new password is what the store holds, and appears nowhere in the trail or the output.
    const cluster = fleet.clusters.get('image-a')!;
    expect(cluster.history).toHaveLength(2);
    const password = cluster.password;
    expect(readFileSync(join(image, 'data', 'audit.jsonl'), 'utf8')).not.toContain(password);
    expect(output.join('')).not.toContain(password);
    const verify = await run(['node', cmd[1]!, 'audit', 'verify']);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it("answers the image's HEALTHCHECK while it runs, and fails it once stopped", async () => {
    const listening = output
      .join('')
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg?: string; url?: string }) : {}))
      .find((l) => l.msg === 'http server listening');
    const port = new URL(listening!.url!).port;
    const probe = healthCmd.map((a) => a.replace(`:${exposed}/`, `:${port}/`));
    expect(probe).not.toEqual(healthCmd);
    expect((await run(probe)).code).toBe(0);

    const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
    worker!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await run(probe)).code).toBe(1);
  });
});

// docker-compose.yml mounts config/docker at /config: the same layout as above.
describe('config/docker/rotator.yaml', () => {
  it('keeps nothing in /tmp', () => {
    const text = readFileSync(join(root, 'config/docker/rotator.yaml'), 'utf8');
    expect(JSON.stringify(parse(text))).not.toContain('/tmp');
  });
});
