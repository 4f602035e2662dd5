import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/worker/config.js';
import type { RotatorConfig } from '../../src/config/schema.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  volumes?: (string | { source: string; target: string })[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, unknown> | string[];
}

/** `docker-compose config`: Compose itself parses, validates and normalises the file (no engine needed). */
async function composeConfig(): Promise<{ services: Record<string, ComposeService> }> {
  let out: { stdout: string };
  try {
    out = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'docker-compose is not installed: apt-get install -y docker-compose (Debian) to run this test',
      );
    }
    throw new Error(`docker-compose config rejected docker-compose.yml:\n${e.stderr ?? e.message}`);
  }
  return parse(out.stdout) as { services: Record<string, ComposeService> };
}

/** Host path mounted at `containerDir`, from either volume syntax. */
function hostDirFor(service: ComposeService, containerDir: string): string {
  for (const v of service.volumes ?? []) {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (target === containerDir && source) return source;
  }
  throw new Error(`nothing is mounted at ${containerDir}`);
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  beforeAll(async () => {
    services = (await composeConfig()).services;
  }, 90_000);

  it('has redis, the sandbox, LocalStack with Secrets Manager, and two worker replicas', () => {
    expect(Object.keys(services).sort()).toEqual(['localstack', 'redis', 'sandbox', 'worker']);
    expect(services.redis!.image).toMatch(/^redis:/);
    expect(services.localstack!.image).toMatch(/^localstack\/localstack(:|$)/);
    expect(services.localstack!.environment?.SERVICES).toBe('secretsmanager');
    expect(services.worker!.deploy?.replicas).toBe(2);
    expect(services.worker!.build).toBeDefined();
    expect(Object.keys(services.worker!.depends_on ?? {}).sort()).toEqual(['localstack', 'redis', 'sandbox']);
  });

  it('runs the sandbox on port 8787 with the mounted clusters file', () => {
    const cmd = services.sandbox!.command as string[];
    expect(cmd.slice(0, 3)).toEqual(['node', '/app/dist/src/cli/bin.js', 'sandbox']);
    expect(cmd[cmd.indexOf('--port') + 1]).toBe('8787');
    const clusters = cmd[cmd.indexOf('--clusters') + 1]!;
    const hostFile = join(hostDirFor(services.sandbox!, posix.dirname(clusters)), basename(clusters));
    const parsed = parse(readFileSync(hostFile, 'utf8')) as { clusters: { provider: string }[] };
    expect(new Set(parsed.clusters.map((c) => c.provider))).toEqual(
      new Set(['ncp-cdss', 'huaweicloud-css', 'otc-css']),
    );
  });

  describe("the worker's config", () => {
    let config: RotatorConfig;
    let env: Record<string, string | null>;
    beforeAll(() => {
      const worker = services.worker!;
      env = worker.environment ?? {};
      config = readWorkerConfig(worker);
    });

    it('validates with the project loader and uses the AWS store against LocalStack', () => {
      expect(config.store).toMatchObject({ type: 'aws-secrets-manager', endpoint: 'http://localstack:4566' });
      expect(env.REDIS_URL ?? config.redis.url).toMatch(/^redis:\/\/redis:6379/);
      expect(env.AWS_ACCESS_KEY_ID).toBeTruthy();
      expect(env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    });

    it('points one target per provider at the sandbox, with every credential reference set', () => {
      expect(new Set(config.targets.map((t) => t.provider))).toEqual(
        new Set(['ncp-cdss', 'huaweicloud-css', 'otc-css']),
      );
      for (const t of config.targets) {
        expect(t.endpoint).toBe('http://sandbox:8787');
        for (const ref of Object.values(t.credentials)) {
          expect(ref && 'env' in ref).toBe(true);
          if (ref && 'env' in ref) expect(env[ref.env], `${t.id}: ${ref.env}`).toBeTruthy();
        }
      }
    });

    it('matches a sandbox cluster, with the same access key, for every target', () => {
      const clustersFile = join(hostDirFor(services.sandbox!, '/config'), 'sandbox-clusters.yaml');
      const { clusters } = parse(readFileSync(clustersFile, 'utf8')) as {
        clusters: Record<string, string>[];
      };
      for (const t of config.targets) {
        const match = clusters.find(
          (c) =>
            c.provider === t.provider &&
            (t.provider === 'ncp-cdss'
              ? String(c.serviceGroupInstanceNo) === t.serviceGroupInstanceNo
              : c.projectId === t.projectId && c.clusterId === t.clusterId),
        );
        expect(match, t.id).toBeDefined();
        const ak = t.credentials.accessKey;
        const sk = t.credentials.secretKey;
        expect(ak && 'env' in ak ? env[ak.env] : undefined).toBe(match!.accessKey);
        expect(sk && 'env' in sk ? env[sk.env] : undefined).toBe(match!.secretKey);
      }
    });
  });

  it('has no obsolete version key, and keeps the audit trail on a named volume the replicas share', () => {
    const raw = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
      version?: unknown;
      volumes?: Record<string, unknown>;
    };
    expect(raw).not.toHaveProperty('version');
    const worker = services.worker!;
    const config = readWorkerConfig(worker);
    // The image's WORKDIR is /: a relative audit path (the default ./data/audit.jsonl) resolves from it.
    const auditFile = posix.resolve(imageWorkdir(), config.audit.path);
    const mount = (worker.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target]))
      .find(([, target]) => target !== undefined && auditFile.startsWith(`${target}/`));
    expect(mount, `a volume mounted above ${auditFile}`).toBeDefined();
    const source = mount![0]!;
    // A named volume, not a host folder (bind mounts start with . or /; Compose may prefix the project).
    expect(source).not.toMatch(/^[./]/);
    expect(
      Object.keys(raw.volumes ?? {}).some((name) => source === name || source.endsWith(`_${name}`)),
    ).toBe(true);
  });
});

/** The last WORKDIR of the Dockerfile (the running image's). */
function imageWorkdir(): string {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  return [...dockerfile.matchAll(/^WORKDIR (\S+)/gm)].at(-1)![1]!;
}

function readWorkerConfig(worker: ComposeService): RotatorConfig {
  const inContainer = worker.environment!.ROTATOR_CONFIG!;
  const hostFile = join(hostDirFor(worker, posix.dirname(inContainer)), posix.basename(inContainer));
  const result = readConfigFile(hostFile);
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.config;
}
