import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { stringify } from 'yaml';
import { type Sandbox, type SandboxCluster, startSandbox } from '../../src/sandbox/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { createStore } from '../../src/secrets/index.js';
import { sandboxSpec } from '../support/sandbox.js';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager/endpoint.js';
import { runCliInProcess } from '../support/cli-in-process.js';

/**
 * `rotator check-config --live` end to end: the real CLI in-process, the sandbox clouds over HTTP and
 * a real store (the loopback Secrets Manager endpoint with the real AWS SDK, and the file store). The
 * sandbox's request log and the store's call log prove that it sends no reset and writes nothing.
 */

/** `rotator check-config ...args`, in-process. */
const run = (...args: string[]) => runCliInProcess('check-config', ...args);

/** The block a target prints: from its header line to the blank line after it. */
function block(stdout: string, id: string): string {
  const start = stdout.indexOf(`${id} (`);
  expect(start, `no block for ${id} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const end = stdout.indexOf('\n\n', start);
  return stdout.slice(start, end < 0 ? undefined : end);
}

const READ_ONLY = new Set(['GetSecretValue', 'DescribeSecret', 'ListSecretVersionIds', 'ListSecrets']);
const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

let sandbox: Sandbox;
let dir: string;
const savedEnv = { ...process.env };
const setEnv: string[] = [];
function env(name: string, value: string): { env: string } {
  process.env[name] = value;
  setEnv.push(name);
  return { env: name };
}

beforeAll(async () => {
  sandbox = await startSandbox({ busyMs: 60_000 });
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'check-live-'));
  sandbox.clearRequests();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const k of [...setEnv, ...ENV_KEYS]) {
    if (k in savedEnv) process.env[k] = savedEnv[k];
    else delete process.env[k];
  }
  setEnv.length = 0;
});

let n = 100;
/** A target config for a sandbox cluster; its credentials are env references set here. */
function targetFor(cluster: SandboxCluster, id: string, over: { secretKey?: string; config?: object } = {}) {
  const s = cluster.spec;
  const credentials = {
    accessKey: env(`LIVE_AK_${id.replace(/-/g, '_').toUpperCase()}`, s.accessKey),
    secretKey: env(`LIVE_SK_${id.replace(/-/g, '_').toUpperCase()}`, over.secretKey ?? s.secretKey),
  };
  const common = { id, provider: cluster.provider, credentials, secret: { id: `live/${id}` } };
  const ids =
    cluster.provider === 'ncp-cdss'
      ? {
          site: 'public',
          region: 'KR',
          serviceGroupInstanceNo: s.serviceGroupInstanceNo,
          endpoint: `${sandbox.url}/api/v1`,
        }
      : { region: 'sandbox', projectId: s.projectId, clusterId: s.clusterId, endpoint: sandbox.url };
  return { ...common, ...ids, ...over.config };
}

function writeConfig(store: object, targets: object[]): string {
  const file = join(dir, 'rotator.yaml');
  writeFileSync(file, stringify({ store, targets }));
  return file;
}

function expectOnlyStatusCalls(expected: number): void {
  const log = sandbox.requests();
  expect(log.filter((e) => e.operation === 'reset')).toEqual([]);
  expect(log.map((e) => e.operation).filter((op) => op !== 'status' && op !== 'unknown')).toEqual([]);
  expect(log).toHaveLength(expected);
}

describe('rotator check-config --live against the sandbox and the Secrets Manager endpoint', () => {
  let sm: SecretsManagerEndpoint;
  beforeAll(async () => {
    sm = await startSecretsManagerEndpoint();
  });
  afterAll(async () => {
    await sm?.close();
  });

  it('a wrong secret key and a missing cluster: exit 1 naming both; no reset sent, nothing written', async () => {
    n += 1;
    const otc = sandbox.clusters.add(sandboxSpec('otc-css', n));
    const ncp = sandbox.clusters.add(sandboxSpec('ncp-cdss', n, { username: 'kafkaops' }));
    const huawei = sandbox.clusters.add(sandboxSpec('huaweicloud-css', n));
    const gone = sandbox.clusters.add(sandboxSpec('ncp-cdss', n + 1000));
    const targets = [
      targetFor(otc, 'ok-otc'),
      targetFor(ncp, 'ok-ncp'),
      targetFor(huawei, 'wrong-sk', { secretKey: 'not-the-secret-key-1234' }),
      targetFor(gone, 'missing-cluster', { config: { serviceGroupInstanceNo: '424242' } }),
    ];
    // ok-otc's secret exists in the shape AWS's rotation functions use; ok-ncp's does not exist yet
    const seeding = createStore(
      { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
      { awsClientConfig: sm.clientConfig() },
    );
    const token = `seed-${'0'.repeat(40)}`;
    await seeding.stagePending(
      'live/ok-otc',
      token,
      JSON.stringify({
        username: 'admin',
        password: otc.password,
        engine: 'otc-css',
      }),
    );
    await seeding.promote('live/ok-otc', token);
    await seeding.close();
    const labelsBefore = sm.labels('live/ok-otc');
    const seen = sm.requests.length;

    const file = writeConfig(
      { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
      targets,
    );
    env('AWS_ACCESS_KEY_ID', sm.credentials.accessKeyId);
    env('AWS_SECRET_ACCESS_KEY', sm.credentials.secretAccessKey);
    const passwords = [otc, ncp, huawei, gone].map((c) => c.password);

    const { code, stdout, stderr } = await run('--config', file, '--live');

    expect(code).toBe(1);
    expect(stderr).toBe('check-config --live: 2 of 4 target(s) would fail: wrong-sk, missing-cluster\n');
    expect(block(stdout, 'ok-otc')).toMatch(/^ok-otc \(otc-css\): ok\n/);
    expect(block(stdout, 'ok-otc')).toContain('security mode  ok: on');
    expect(block(stdout, 'ok-otc')).toContain("manager user   ok: admin (the provider's default)");
    expect(block(stdout, 'ok-otc')).toContain(
      'secret         ok: live/ok-otc: readable as json, has a current version',
    );
    expect(block(stdout, 'ok-ncp')).toMatch(/^ok-ncp \(ncp-cdss\): ok\n/);
    expect(block(stdout, 'ok-ncp')).toContain('manager user   ok: kafkaops (reported by the cloud)');
    expect(block(stdout, 'ok-ncp')).toContain(
      'live/ok-ncp: does not exist yet; the first rotation creates it',
    );
    const wrong = block(stdout, 'wrong-sk');
    expect(wrong).toMatch(/^wrong-sk \(huaweicloud-css\): WOULD FAIL\n/);
    expect(wrong).toMatch(
      /cluster +FAIL: the cloud refused the credentials: .*auth, HTTP 401, code APIGW\.0301/,
    );
    const missing = block(stdout, 'missing-cluster');
    expect(missing).toMatch(/^missing-cluster \(ncp-cdss\): WOULD FAIL\n/);
    expect(missing).toMatch(/cluster +FAIL: the cluster does not exist .*not-found, HTTP 404/);
    for (const t of ['ok-otc', 'ok-ncp', 'wrong-sk', 'missing-cluster']) {
      expect(block(stdout, t)).toMatch(/credentials +ok: resolved/);
    }

    // never a reset: one status call per target, nothing else
    expectOnlyStatusCalls(4);
    expect(otc.resetsApplied + ncp.resetsApplied + huawei.resetsApplied).toBe(0);
    // never a store write: only reads, and the secret's versions are as they were
    const calls = sm.requests.slice(seen);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.filter((c) => !READ_ONLY.has(c.operation))).toEqual([]);
    expect(sm.labels('live/ok-otc')).toEqual(labelsBefore);
    expect(sm.labels('live/ok-ncp')).toBeUndefined();
    // no secret in the output
    for (const secret of [
      ...passwords,
      'not-the-secret-key-1234',
      ...[otc, ncp, huawei].map((c) => c.spec.secretKey),
    ])
      expect(stdout + stderr).not.toContain(secret);
  });

  it('a secret the store cannot read would fail, named by id, its value never printed', async () => {
    n += 1;
    const otc = sandbox.clusters.add(sandboxSpec('otc-css', n));
    const client = new SecretsManagerClient(sm.clientConfig());
    const value = 'Just-The-Password-0123';
    await client.send(new CreateSecretCommand({ Name: 'live/plain-text', SecretString: value }));
    client.destroy();
    const seen = sm.requests.length;
    env('AWS_ACCESS_KEY_ID', sm.credentials.accessKeyId);
    env('AWS_SECRET_ACCESS_KEY', sm.credentials.secretAccessKey);
    const store = { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true };
    const { code, stdout, stderr } = await run(
      '--config',
      writeConfig(store, [targetFor(otc, 'plain-text')]),
      '--live',
    );
    expect(code).toBe(1);
    expect(stderr).toBe('check-config --live: 1 of 1 target(s) would fail: plain-text\n');
    expect(block(stdout, 'plain-text')).toMatch(
      /secret +FAIL: live\/plain-text: not readable as json: found text that is not JSON/,
    );
    expect(stdout + stderr).not.toContain(value);
    expect(sm.requests.slice(seen).filter((c) => !READ_ONLY.has(c.operation))).toEqual([]);
  });

  it('store.create false: a missing secret would fail; all good otherwise exits 0', async () => {
    n += 1;
    const otc = sandbox.clusters.add(sandboxSpec('otc-css', n));
    const store = { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: false };
    env('AWS_ACCESS_KEY_ID', sm.credentials.accessKeyId);
    env('AWS_SECRET_ACCESS_KEY', sm.credentials.secretAccessKey);
    const missing = await run('--config', writeConfig(store, [targetFor(otc, 'no-secret')]), '--live');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      'secret         FAIL: live/no-secret: does not exist and store.create is false: create it first',
    );
    expect(missing.stderr).toBe('check-config --live: 1 of 1 target(s) would fail: no-secret\n');

    const seeding = createStore({ ...store, create: true } as never, { awsClientConfig: sm.clientConfig() });
    const token = `seed-${'1'.repeat(40)}`;
    await seeding.stagePending(
      'live/no-secret',
      token,
      JSON.stringify({
        username: 'admin',
        password: otc.password,
        engine: 'otc-css',
      }),
    );
    await seeding.promote('live/no-secret', token);
    await seeding.close();
    sandbox.clearRequests();
    const ok = await run('--config', writeConfig(store, [targetFor(otc, 'no-secret')]), '--live');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^no-secret \(otc-css\): ok\n/);
    expect(ok.stdout).toContain('check-config --live: all 1 enabled target(s) pass');
    expectOnlyStatusCalls(1);
  });
});

describe('rotator check-config --live with the file store', () => {
  it('no security mode and an unknown NCP route would fail; the store file is not touched', async () => {
    n += 1;
    const plain = sandbox.clusters.add(sandboxSpec('huaweicloud-css', n, { authorityEnable: false }));
    const ncp = sandbox.clusters.add(sandboxSpec('ncp-cdss', n));
    const otc = sandbox.clusters.add(sandboxSpec('otc-css', n));
    // One cluster per target: two targets on one cluster are a config error.
    const otcOff = sandbox.clusters.add(sandboxSpec('otc-css', n + 1000));
    const otcNoCreds = sandbox.clusters.add(sandboxSpec('otc-css', n + 2000));
    const keyHex = createHash('sha256').update(`key-${n}`).digest('hex');
    const path = join(dir, 'secrets.enc');
    const seeding = createFileStore({ path, keyBytes: Buffer.from(keyHex, 'hex') });
    const token = `seed-${'2'.repeat(40)}`;
    await seeding.stagePending(
      'live/ok-file',
      token,
      JSON.stringify({
        username: 'admin',
        password: otc.password,
        engine: 'otc-css',
      }),
    );
    await seeding.promote('live/ok-file', token);
    await seeding.close();
    const before = readFileSync(path);

    const file = writeConfig({ type: 'file', path, key: env('LIVE_FILE_KEY', keyHex) }, [
      targetFor(otc, 'ok-file'),
      targetFor(plain, 'no-security-mode'),
      targetFor(ncp, 'wrong-prefix', { config: { endpoint: `${sandbox.url}/api/xx-v1` } }),
      { ...targetFor(otcOff, 'switched-off'), enabled: false },
      targetFor(otcNoCreds, 'no-creds'),
    ]);
    delete process.env.LIVE_SK_NO_CREDS;
    const { code, stdout, stderr } = await run('--config', file, '--live');

    expect(code).toBe(1);
    expect(stderr).toBe(
      'check-config --live: 3 of 5 target(s) would fail: no-security-mode, wrong-prefix, no-creds\n',
    );
    expect(block(stdout, 'no-creds')).toContain(
      'credentials    FAIL: targets.no-creds.credentials.secretKey: environment variable LIVE_SK_NO_CREDS is not set',
    );
    expect(block(stdout, 'no-creds')).toContain('cluster        FAIL: not checked: no credentials');
    expect(block(stdout, 'ok-file')).toMatch(/^ok-file \(otc-css\): ok\n/);
    expect(block(stdout, 'no-security-mode')).toContain(
      'security mode  FAIL: off (authorityEnable false): the cluster has no password that can be reset',
    );
    expect(block(stdout, 'wrong-prefix')).toMatch(
      /cluster +FAIL: config error: unknown route \(gateway 404, errorCode 300\): check the target's site and region .*\(ncp-cdss status: HTTP 404, code 300\)$/m,
    );
    expect(block(stdout, 'switched-off')).toBe('switched-off (otc-css): disabled, not checked');
    expect(block(stdout, 'no-security-mode')).toContain(
      'secret         ok: live/no-security-mode: does not exist yet; the first rotation creates it',
    );
    // three status calls (not for the disabled target, nor without credentials), no reset; the store
    // file is byte-identical
    expectOnlyStatusCalls(3);
    expect(
      plain.resetsApplied +
        ncp.resetsApplied +
        otc.resetsApplied +
        otcOff.resetsApplied +
        otcNoCreds.resetsApplied,
    ).toBe(0);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(existsSync(`${path}.key`)).toBe(false);
    expect(stdout + stderr).not.toContain(keyHex);
  });

  it('a config error is exit 2, before any call: an invalid target, an unresolvable store key', async () => {
    const file = writeConfig({ type: 'file', path: join(dir, 's.enc') }, [{ id: 'x', provider: 'otc-css' }]);
    const { code, stdout } = await run('--config', file, '--live');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    n += 1;
    const otc = sandbox.clusters.add(sandboxSpec('otc-css', n));
    const noKey = writeConfig(
      { type: 'file', path: join(dir, 's.enc'), key: { env: 'LIVE_UNSET_KEY_VAR' } },
      [targetFor(otc, 'some-target')],
    );
    delete process.env.LIVE_UNSET_KEY_VAR;
    const unresolved = await run('--config', noKey, '--live');
    expect(unresolved.code).toBe(2);
    expect(unresolved.stdout).toBe('');
    expect(unresolved.stderr).toMatch(/^store: .*LIVE_UNSET_KEY_VAR/);
    expect(sandbox.requests()).toEqual([]);
  });
});
