import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';

const FIXTURES = 'test/fixtures/configs';

/** `rotator check-config ...args`, in-process. */
const run = (...args: string[]) => runCliInProcess('check-config', ...args);

/** Fixture → problems that must be printed (`path: message` lines, message matched as a prefix). */
const broken: Record<string, string[]> = {
  'bad-yaml.yaml': ['line 6, column 1: invalid YAML: Flow map in block collection'],
  'duplicate-yaml-key.yaml': ['line 3, column 1: invalid YAML: Map keys must be unique'],
  'not-a-mapping.yaml': ['(root): must be a YAML mapping'],
  'missing-store.yaml': ['store: required'],
  'no-targets.yaml': ['targets: at least one target is required'],
  'missing-target-fields.yaml': ['targets[0].region: required', 'targets[0].secret: required'],
  'missing-cluster-id.yaml': ['targets[0].clusterId: required for otc-css'],
  'wrong-types.yaml': [
    'worker.concurrency: must be a number, got a string',
    'log.pretty: must be true or false, got number 1',
  ],
  'duplicate-ids.yaml': ["targets[1].id: duplicate target id 'search-eu-de' (first at targets[0])"],
  'literal-credential.yaml': ['targets[0].credentials.secretKey: literal secret values are not allowed'],
  'literal-slack-url.yaml': ['alerts[0].url: literal secret values are not allowed'],
  'unknown-provider.yaml': ['targets[0].provider: must be one of: ncp-cdss, huaweicloud-css, otc-css'],
  'bad-cron.yaml': ["defaults.schedule.cron: invalid cron expression '0 25 1 * *'"],
  'bad-duration.yaml': ["targets[0].schedule.every: invalid duration '30 days'"],
  'short-interval.yaml': ['targets[0].schedule.every: must be at least 1m'],
  'bad-tz.yaml': ['targets[0].schedule.tz: must be an IANA time zone'],
  'impossible-policy.yaml': ["targets[0].policy.length: 30 is outside ncp-cdss's range 8-20"],
  'unsatisfiable-policy.yaml': [
    'targets[0].policy.minClasses: 4 classes required but only 3 have characters left',
  ],
  'widened-specials.yaml': [
    "targets[0].policy.specials: '+' is not accepted by ncp-cdss",
    "targets[0].policy.specials: '&' is not accepted by ncp-cdss",
  ],
  'loosened-classes.yaml': [
    "targets[0].policy.minClasses: 2 would loosen ncp-cdss's rule of at least 4 classes",
  ],
  'unknown-key.yaml': ['schedules: unknown key', 'targets[0].clusterID: unknown key'],
  'bad-target-id.yaml': ['targets[0].id: must be 1-64 letters, digits'],
  'ncp-field-on-otc.yaml': [
    'targets[0].site: only applies to ncp-cdss, not otc-css',
    'targets[0].serviceGroupInstanceNo: only applies to ncp-cdss, not otc-css',
  ],
  'token-on-ncp.yaml': [
    'targets[0].credentials.accessKey: required for ncp-cdss',
    'targets[0].credentials.token: ncp-cdss signs with access key and secret key only',
  ],
  'bad-store-type.yaml': ['store.type: type must be one of: aws-secrets-manager, file'],
  'bad-redis-url.yaml': ['redis.url: must be a redis:// or rediss:// URL'],
  'redis-url-password.yaml': [
    'redis.url: must not contain a password: give it as redis.password: { env: NAME } or { file: PATH }',
  ],
  'unknown-region.yaml': ["targets[0].region: unknown region 'eu-xx'"],
  'insecure-http.yaml': [
    'targets[0].endpoint: http:// to css.eu-de.example.internal:8080 would send credentials and passwords in clear text: use https://, or set allowInsecureHttp: true on this target',
    'targets[0].dataPlane.url: http:// to 192.168.0.122:9200 would send credentials',
  ],
  'same-cluster.yaml': [
    "targets[1].clusterId: target 'search-eu-de-again' rotates the same cluster as target 'search-eu-de' (otc-css projectId 6204a5bd270343b5885144cf9c8c158d clusterId 4f3deec3-efa8-4598-bf91-560aad1377a3)",
    "targets[3].serviceGroupInstanceNo: target 'kafka-kr-prod-2' rotates the same cluster as target 'kafka-kr-prod' (ncp-cdss serviceGroupInstanceNo 1484848)",
  ],
  'shared-secret.yaml': [
    "targets[1].secret.id: target 'search-eu-nl' uses the same secret.id 'prod/css/search/admin' as target 'search-eu-de'",
  ],
  'many-problems.yaml': [
    "defaults.schedule.every: invalid duration 'soon'",
    "targets[0].policy.length: 4 is outside ncp-cdss's range 8-20",
    'targets[1].provider: must be one of: ncp-cdss, huaweicloud-css, otc-css',
  ],
};

describe('rotator check-config on broken configs', () => {
  it('has a table entry for every fixture, and at least 15 of them', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(Object.keys(broken).sort());
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(Object.entries(broken))('%s exits 2 naming the field', async (file, expected) => {
    const { code, stdout, stderr } = await run('--config', join(FIXTURES, file));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    for (const want of expected) expect(lines.some((l) => l.startsWith(want))).toBe(true);
    // Every line is `path: message`, and never a stack trace.
    for (const line of lines) expect(line).toMatch(/^[^\s:][^:]*: \S/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('an unreadable file is a one-line problem naming the file', async () => {
    const { code, stderr } = await run('--config', join(FIXTURES, 'does-not-exist.yaml'));
    expect(code).toBe(2);
    expect(stderr).toBe(`${join(FIXTURES, 'does-not-exist.yaml')}: file not found\n`);
  });

  it('never echoes a literal credential it rejects', async () => {
    const { stderr } = await run('--config', join(FIXTURES, 'literal-credential.yaml'));
    expect(stderr).not.toContain('wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY');
    const redis = await run('--config', join(FIXTURES, 'redis-url-password.yaml'));
    expect(redis.stderr).toContain('redis.url:');
    expect(redis.stderr).not.toContain('Hunter2');
  });
});

describe('rotator check-config on the example', () => {
  it('exits 0 and prints one line per target: id, provider, schedule, secret id', async () => {
    const { code, stdout, stderr } = await run('--config', 'config/rotator.example.yaml');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      'kafka-kr-prod',
      'kafka-gov-krs',
      'search-ap-southeast-1',
      'search-eu-de',
      'search-eu-nl-staging',
    ]);
    expect(lines[0]).toMatch(
      /^kafka-kr-prod\s+ncp-cdss\s+cron "0 3 1 \* \*" UTC\s+secret prod\/cdss\/kafka-kr-prod\/manager$/,
    );
    expect(lines[3]).toMatch(/^search-eu-de\s+otc-css\s+every 7d\s+secret prod\/css\/search-eu-de\/admin$/);
    expect(lines[4]).toMatch(
      /cron "30 2 \* \* 1" Europe\/Amsterdam\s+secret staging\/css\/search-eu-nl\/admin \(disabled\)$/,
    );
  });
});

describe('http:// where a password travels', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-config-http-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function configWith(targetLines: string): string {
    const file = join(dir, 'rotator.yaml');
    writeFileSync(
      file,
      `store: { type: file, path: ${join(dir, 'secrets.json')} }
targets:
  - id: search-eu-de
    provider: otc-css
    region: eu-de
    projectId: p1
    clusterId: c1
    credentials: { accessKey: { env: OTC_AK }, secretKey: { env: OTC_SK } }
    secret: { id: prod/css/search-eu-de/admin }
${targetLines}`,
    );
    return file;
  }

  it('accepts http:// on loopback hosts without a flag and without a warning', async () => {
    for (const host of ['127.0.0.1:8787', '127.8.9.10', 'localhost:9200', 'LOCALHOST', '[::1]:8787']) {
      const file = configWith(`    endpoint: http://${host}\n    dataPlane: { url: 'http://${host}/' }\n`);
      const { code, stderr } = await run('--config', file);
      expect({ host, code, stderr }).toEqual({ host, code: 0, stderr: '' });
    }
  });

  it('refuses http:// to a look-alike of loopback', async () => {
    for (const host of ['127.0.0.1.example.com', 'localhost.example.com', '10.0.0.1', '[::2]']) {
      const file = configWith(`    endpoint: http://${host}:8787\n`);
      const { code, stderr } = await run('--config', file);
      expect(code, host).toBe(2);
      expect(stderr, host).toMatch(/^targets\[0\]\.endpoint: http:\/\/ to \S+ would send credentials/);
    }
  });

  it('with allowInsecureHttp: true exits 0 and warns for each clear-text URL on stderr', async () => {
    const file = configWith(
      `    endpoint: http://sandbox:8787\n    dataPlane: { url: 'http://10.1.2.3:9200/' }\n    allowInsecureHttp: true\n`,
    );
    const { code, stdout, stderr } = await run('--config', file);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^search-eu-de\s+otc-css/);
    expect(stderr.trimEnd().split('\n')).toEqual([
      'warning: targets[0].endpoint: http:// to sandbox:8787 sends credentials and passwords in clear text (allowed by allowInsecureHttp: true)',
      'warning: targets[0].dataPlane.url: http:// to 10.1.2.3:9200 sends credentials and passwords in clear text (allowed by allowInsecureHttp: true)',
    ]);
  });

  it('https:// needs no flag and gets no warning, even with the flag set', async () => {
    const file = configWith(`    endpoint: https://css.example.com\n    allowInsecureHttp: true\n`);
    const { code, stderr } = await run('--config', file);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('config path and --resolve', () => {
  let dir: string;
  const saved = { ...process.env };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  function writeConfig(): string {
    const akFile = join(dir, 'ak');
    writeFileSync(akFile, 'AK-VALUE-FROM-FILE-123\n');
    const file = join(dir, 'rotator.yaml');
    writeFileSync(
      file,
      `store: { type: file, path: ${join(dir, 'secrets.json')}, key: { file: ${join(dir, 'missing-key')} } }
targets:
  - id: search-eu-de
    provider: otc-css
    region: eu-de
    projectId: p1
    clusterId: c1
    credentials: { accessKey: { file: ${akFile} }, secretKey: { env: CHECK_CONFIG_TEST_SK } }
    secret: { id: prod/css/search-eu-de/admin }
`,
    );
    return file;
  }

  it('takes the path from ROTATOR_CONFIG when --config is absent, else config/rotator.yaml', async () => {
    process.env.ROTATOR_CONFIG = writeConfig();
    expect((await run()).code).toBe(0);
    delete process.env.ROTATOR_CONFIG;
    const { code, stderr } = await run();
    expect(code).toBe(2);
    expect(stderr).toBe('config/rotator.yaml: file not found\n');
  });

  it('without --resolve does not look at the references; with it names each one that fails, never a value', async () => {
    const file = writeConfig();
    process.env.CHECK_CONFIG_TEST_SK = 'SK-VALUE-FROM-ENV-456';
    expect((await run('--config', file)).code).toBe(0);

    const failing = await run('--config', file, '--resolve');
    expect(failing.code).toBe(2);
    expect(failing.stderr).toBe(`store.key: cannot read file ${join(dir, 'missing-key')} (ENOENT)\n`);

    delete process.env.CHECK_CONFIG_TEST_SK;
    const both = await run('--config', file, '--resolve');
    expect(both.stderr).toContain(
      'targets[0].credentials.secretKey: environment variable CHECK_CONFIG_TEST_SK is not set',
    );

    writeFileSync(join(dir, 'missing-key'), 'a'.repeat(64));
    process.env.CHECK_CONFIG_TEST_SK = 'SK-VALUE-FROM-ENV-456';
    const ok = await run('--config', file, '--resolve');
    expect(ok.code).toBe(0);
    for (const r of [failing, both, ok]) {
      expect(r.stdout + r.stderr).not.toContain('AK-VALUE-FROM-FILE-123');
      expect(r.stdout + r.stderr).not.toContain('SK-VALUE-FROM-ENV-456');
    }
  });

  it('with --resolve also checks the redis password reference and the TLS files', async () => {
    const file = writeConfig();
    writeFileSync(join(dir, 'missing-key'), 'a'.repeat(64));
    process.env.CHECK_CONFIG_TEST_SK = 'SK-VALUE-FROM-ENV-456';
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      `redis:\n  url: rediss://redis.internal:6380\n  password: { env: CHECK_CONFIG_REDIS_PW }\n  tls: { ca: ${join(dir, 'ca.pem')}, cert: ${join(dir, 'c.pem')}, key: ${join(dir, 'c.key')} }\n${text}`,
    );
    expect((await run('--config', file)).code).toBe(0);
    const failing = await run('--config', file, '--resolve');
    expect(failing.code).toBe(2);
    expect(failing.stderr.trimEnd().split('\n')).toEqual([
      'redis.password: environment variable CHECK_CONFIG_REDIS_PW is not set',
      `redis.tls.ca: cannot read file ${join(dir, 'ca.pem')} (ENOENT)`,
      `redis.tls.cert: cannot read file ${join(dir, 'c.pem')} (ENOENT)`,
      `redis.tls.key: cannot read file ${join(dir, 'c.key')} (ENOENT)`,
    ]);
    process.env.CHECK_CONFIG_REDIS_PW = 'REDIS-PW-FROM-ENV-789';
    for (const name of ['ca.pem', 'c.pem', 'c.key']) writeFileSync(join(dir, name), 'PEM');
    const ok = await run('--config', file, '--resolve');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(failing.stdout + failing.stderr + ok.stdout).not.toContain('REDIS-PW-FROM-ENV-789');
  });
});

describe('check-config --json', () => {
  it('prints the targets of a valid config as JSON, exit 0', async () => {
    const { code, stdout, stderr } = await run('--config', 'config/rotator.example.yaml', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      ok: boolean;
      file: string;
      targets: { id: string; provider: string; schedule: unknown; secretId: string; enabled: boolean }[];
    };
    expect(out.ok).toBe(true);
    expect(out.file).toBe('config/rotator.example.yaml');
    expect(out.targets).toHaveLength(5);
    expect(out.targets[0]).toEqual({
      id: 'kafka-kr-prod',
      provider: 'ncp-cdss',
      schedule: { cron: '0 3 1 * *', tz: 'UTC' },
      secretId: 'prod/cdss/kafka-kr-prod/manager',
      enabled: true,
    });
    expect(out.targets[4]).toMatchObject({ id: 'search-eu-nl-staging', enabled: false });
  });

  it('prints every problem as { path, message } on stdout, nothing on stderr, exit 2', async () => {
    const file = join(FIXTURES, 'many-problems.yaml');
    const { code, stdout, stderr } = await run('--config', file, '--json');
    expect(code).toBe(2);
    expect(stderr).toBe('');
    const out = JSON.parse(stdout) as {
      ok: boolean;
      file: string;
      problems: { path: string; message: string }[];
    };
    expect(out).toMatchObject({ ok: false, file });
    const lines = out.problems.map((p) => `${p.path}: ${p.message}`);
    for (const want of broken['many-problems.yaml']!)
      expect(lines.some((l) => l.startsWith(want))).toBe(true);

    const missing = await run('--config', join(FIXTURES, 'does-not-exist.yaml'), '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toEqual({
      ok: false,
      file: join(FIXTURES, 'does-not-exist.yaml'),
      problems: [{ path: join(FIXTURES, 'does-not-exist.yaml'), message: 'file not found' }],
    });
  });
});

describe('rotator --version', () => {
  it("prints package.json's version and exits 0", async () => {
    const { code, stdout } = await runCliInProcess('--version');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});
