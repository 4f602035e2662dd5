import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { isProviderError } from '../../src/providers/errors.js';
import { createProvider } from '../../src/providers/registry.js';
import { signSdkHmacSha256 } from '../../src/providers/shared/sdk-hmac-sha256.js';
import { type Sandbox, sandboxTarget, startSandbox } from '../../src/sandbox/index.js';
import { dataPlaneLogin, sandboxSpec, testPassword } from '../support/sandbox.js';

const START = Date.UTC(2026, 0, 1);
let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isProviderError(err)) return err.kind;
    throw err;
  }
}

describe('sandbox', () => {
  it('counts concurrent resets and overlaps: one applies, the other is busy', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock, busyMs: 60_000, latencyMs: 150 });
    const c = sandbox.clusters.add(sandboxSpec('huaweicloud-css'));
    const p = createProvider('huaweicloud-css', { fetch, clock, timeoutMs: 5000 });
    const t = sandboxTarget(sandbox.url, c);
    const kinds = await Promise.all([p.reset(t, testPassword()), p.reset(t, testPassword())].map(kindOf));
    expect(kinds.sort()).toEqual(['busy', 'ok']);
    expect(c.maxConcurrentResets).toBe(2);
    expect(c.overlaps).toBe(1);
    expect(c.resetsApplied).toBe(1);
    expect(c.history).toHaveLength(2);
  });

  it('holds 10,000 clusters created programmatically and routes each by id', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const ids = ['ncp-cdss', 'huaweicloud-css', 'otc-css'] as const;
    for (let i = 0; i < 10_000; i++) sandbox.clusters.add(sandboxSpec(ids[i % 3]!, i));
    expect(sandbox.clusters.size).toBe(10_000);
    for (const n of [1, 5000, 9998]) {
      const c = sandbox.clusters.get(`${ids[n % 3]}-${String(n).padStart(6, '0')}`);
      const p = createProvider(c.provider, { fetch, clock, timeoutMs: 5000 });
      const pw = testPassword();
      await p.reset(sandboxTarget(sandbox.url, c), pw);
      expect(c.password).toBe(pw);
    }
    expect(() => sandbox!.clusters.get('nope')).toThrow("unknown sandbox cluster 'nope'");
  });

  it('refuses conflicting cluster definitions with a message naming the field', async () => {
    sandbox = await startSandbox();
    const spec = sandboxSpec('otc-css');
    sandbox.clusters.add(spec);
    expect(() => sandbox!.clusters.add({ ...spec, key: 'other' })).toThrow(/already has cluster/);
    expect(() => sandbox!.clusters.add({ ...sandboxSpec('otc-css', 2), accessKey: spec.accessKey })).toThrow(
      /already registered with a different secret key/,
    );
    expect(() => sandbox!.clusters.add({ ...sandboxSpec('ncp-cdss'), serviceGroupInstanceNo: 'x1' })).toThrow(
      /serviceGroupInstanceNo/,
    );
    expect(() => sandbox!.clusters.get(spec.key!).pushFault({ type: 'result-null' })).toThrow(
      /ncp-cdss only/,
    );
    const ncp = sandbox.clusters.add(sandboxSpec('ncp-cdss'));
    expect(() => ncp.pushFault({ type: 'busy202' })).toThrow(/huaweicloud-css and otc-css only/);
    for (const username of ['admin', 'ab', 'Manager', 'kafka-mgr', 'a'.repeat(16)]) {
      expect(() => sandbox!.clusters.add({ ...sandboxSpec('ncp-cdss', 3), username })).toThrow(
        /username \(the NCP manager user\) must be 3-15 lower-case letters, not admin/,
      );
    }
    expect(() => sandbox!.clusters.add({ ...sandboxSpec('ncp-cdss', 4), authorityEnable: false })).toThrow(
      /authorityEnable applies to huaweicloud-css and otc-css only/,
    );
  });

  it('NCP: each cluster has its own manager user, never admin; a given one is kept', async () => {
    sandbox = await startSandbox();
    const a = sandbox.clusters.add(sandboxSpec('ncp-cdss', 1, { serviceGroupInstanceNo: '1009123' }));
    const b = sandbox.clusters.add(sandboxSpec('ncp-cdss', 2, { username: 'kafkaops' }));
    expect(a.username).toBe('mgrbaajbcd');
    expect(b.username).toBe('kafkaops');
    expect(sandbox.clusters.add(sandboxSpec('otc-css')).username).toBe('admin');
  });

  it('CSS: a cluster without security mode reports authorityEnable false and refuses a reset', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const c = sandbox.clusters.add(sandboxSpec('otc-css', 1, { authorityEnable: false }));
    const p = createProvider('otc-css', { fetch, clock, timeoutMs: 5000 });
    const initial = c.password;
    expect(await p.status(sandboxTarget(sandbox.url, c))).toMatchObject({ securityMode: false });
    expect(await kindOf(p.reset(sandboxTarget(sandbox.url, c), testPassword()))).toBe('precondition');
    expect(c.password).toBe(initial);
  });

  it('NCP: the gateway answers any unknown /api/ route with 404 / errorCode 300, before checking the signature', async () => {
    sandbox = await startSandbox({ retiredNcpApis: ['resetCMAKPassword'] });
    for (const path of [
      '/api/v1/cluster/resetSomething/1',
      '/api/xx-v1/cluster/getClusterInfoList/1',
      '/api/v1/cluster/resetCMAKPassword/1',
    ]) {
      const res = await fetch(`${sandbox.url}${path}`, { method: 'POST' });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { errorCode: '300', message: 'Not Found Exception' } });
    }
  });

  it.each(['huaweicloud-css', 'otc-css'] as const)(
    '%s: accepts an IAM token instead of AK/SK',
    async (id) => {
      const clock = manualClock(START);
      sandbox = await startSandbox({ clock });
      const c = sandbox.clusters.add(sandboxSpec(id, 1, { tokens: ['tok-1'] }));
      const other = sandbox.clusters.add(sandboxSpec(id, 2, { tokens: ['tok-2'] }));
      const p = createProvider(id, { fetch, clock, timeoutMs: 5000 });
      const pw = testPassword();
      await p.reset(sandboxTarget(sandbox.url, c, { token: 'tok-1' }), pw);
      expect(c.password).toBe(pw);
      expect(sandbox.requests().at(-1)).toMatchObject({ accessKey: 'token', outcome: 'ok' });
      expect(await kindOf(p.status(sandboxTarget(sandbox.url, c, { token: 'forged' })))).toBe('auth');
      expect(await kindOf(p.status(sandboxTarget(sandbox.url, other, { token: 'tok-1' })))).toBe('not-found');
      expect(JSON.stringify(sandbox.requests())).not.toContain('tok-1');
    },
  );

  it('NCP: the retired resetCMAKPassword path works when the target selects it; a wrong prefix is not found', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const c = sandbox.clusters.add(sandboxSpec('ncp-cdss', 1, { apiPrefix: 'sgn-v1' }));
    const p = createProvider('ncp-cdss', { fetch, clock, timeoutMs: 5000 });
    const pw = testPassword();
    await p.reset(sandboxTarget(sandbox.url, c, { config: { resetApi: 'resetCMAKPassword' } }), pw);
    expect(c.password).toBe(pw);
    const wrongPrefix = sandboxTarget(sandbox.url, c, { config: { endpoint: `${sandbox.url}/api/v1` } });
    expect(await kindOf(p.status(wrongPrefix))).toBe('not-found');
  });

  it('CSS: checks body shape and that X-Project-Id is signed and matches the path', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const c = sandbox.clusters.add(sandboxSpec('otc-css'));
    const url = `${sandbox.url}/v1.0/${c.spec.projectId}/clusters/${c.spec.clusterId}/password/reset`;
    const creds = { accessKey: c.spec.accessKey, secretKey: c.spec.secretKey };
    const post = async (body: string, headers: Record<string, string>) => {
      const bytes = Buffer.from(body);
      const signed = signSdkHmacSha256({ method: 'POST', url, headers, body: bytes }, creds, START);
      const res = await fetch(url, { method: 'POST', headers: signed.headers, body: bytes });
      return { status: res.status, body: await res.text() };
    };
    const ct = { 'Content-Type': 'application/json' };
    expect(
      await post('{"password":"Abcdef-123"}', { ...ct, 'X-Project-Id': c.spec.projectId! }),
    ).toMatchObject({
      status: 400,
      body: expect.stringContaining('CSS.0001'),
    });
    expect(
      await post('{"newpassword":"Abcdef-123"}', { ...ct, 'X-Project-Id': 'someone-else' }),
    ).toMatchObject({
      status: 400,
    });
    // X-Project-Id sent but not signed.
    const bytes = Buffer.from('{"newpassword":"Abcdef-123"}');
    const signed = signSdkHmacSha256({ method: 'POST', url, headers: ct, body: bytes }, creds, START);
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...signed.headers, 'X-Project-Id': c.spec.projectId! },
      body: bytes,
    });
    expect(res.status).toBe(401);
    expect(c.history).toHaveLength(1);
    expect(await post('{"newpassword":"Abcdef-123"}', { ...ct, 'X-Project-Id': c.spec.projectId! })).toEqual({
      status: 200,
      body: '',
    });
  });

  it('CSS: refuses an AK/SK signature that leaves out a Content-Type the request carries', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const c = sandbox.clusters.add(sandboxSpec('huaweicloud-css'));
    const base = `${sandbox.url}/v1.0/${c.spec.projectId}/clusters/${c.spec.clusterId}`;
    const creds = { accessKey: c.spec.accessKey, secretKey: c.spec.secretKey };
    const project = { 'X-Project-Id': c.spec.projectId! };
    const ct = { 'Content-Type': 'application/json' };
    const call = async (
      method: 'GET' | 'POST',
      url: string,
      body: string,
      signedHeaders: Record<string, string>,
      unsigned: Record<string, string> = {},
    ) => {
      const bytes = Buffer.from(body);
      const signed = signSdkHmacSha256({ method, url, headers: signedHeaders, body: bytes }, creds, START);
      const res = await fetch(url, {
        method,
        headers: { ...signed.headers, ...unsigned },
        ...(method === 'POST' ? { body: bytes } : {}),
      });
      return { status: res.status, text: await res.text(), signedHeaders: signed.signedHeaders };
    };
    const reset = `${base}/password/reset`;
    const body = JSON.stringify({ newpassword: testPassword() });

    // a reset whose Content-Type is sent but not signed: the body's type could be swapped in transit
    const unsignedCt = await call('POST', reset, body, project, ct);
    expect(unsignedCt.signedHeaders).toBe('host;x-project-id;x-sdk-date');
    expect(unsignedCt.status).toBe(401);
    expect(unsignedCt.text).toContain('APIGW.0301');
    // a reset with a body and no Content-Type at all: content-type must still be signed
    expect((await call('POST', reset, body, project)).status).toBe(401);
    expect(c.history).toHaveLength(1);
    // the status GET the providers send (Content-Type on GET too) must sign it as well
    expect((await call('GET', base, '', project, ct)).status).toBe(401);
    expect((await call('GET', base, '', { ...ct, ...project })).status).toBe(200);
    // a GET without a body and without a Content-Type has none to sign
    expect((await call('GET', base, '', project)).status).toBe(200);
    // the reference's list, content-type;host;x-project-id;x-sdk-date, is accepted
    const ok = await call('POST', reset, body, { ...ct, ...project });
    expect(ok.signedHeaders).toBe('content-type;host;x-project-id;x-sdk-date');
    expect(ok.status).toBe(200);
    expect(c.history).toHaveLength(2);
  });

  it('logs every request without passwords, and reports it to onRequest', async () => {
    const seen: string[] = [];
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock, onRequest: (e) => seen.push(`${e.operation} ${e.status}`) });
    const c = sandbox.clusters.add(sandboxSpec('ncp-cdss'));
    const p = createProvider('ncp-cdss', { fetch, clock, timeoutMs: 5000 });
    const pw = testPassword();
    await p.reset(sandboxTarget(sandbox.url, c), pw);
    expect(await dataPlaneLogin(c.dataPlaneUrl, c.username, pw)).toBe(200);
    expect(await dataPlaneLogin(c.dataPlaneUrl, 'someone', pw)).toBe(401);
    expect(seen).toEqual(['reset 200', 'dataplane 200', 'dataplane 401']);
    const text = JSON.stringify(sandbox.requests()) + JSON.stringify(c);
    expect(text).not.toContain(pw);
    expect(text).not.toContain(c.spec.secretKey);
    sandbox.clearRequests();
    expect(sandbox.requests()).toEqual([]);
  });

  it('closes while a request hangs', async () => {
    const clock = manualClock(START);
    sandbox = await startSandbox({ clock });
    const c = sandbox.clusters.add(sandboxSpec('huaweicloud-css'));
    c.pushFault({ type: 'hang', op: 'status' });
    const p = createProvider('huaweicloud-css', { fetch, clock, timeoutMs: 30_000 });
    const pending = kindOf(p.status(sandboxTarget(sandbox.url, c)));
    await new Promise((r) => setTimeout(r, 100));
    await sandbox.close();
    sandbox = undefined;
    expect(await pending).toBe('unknown-outcome');
  });
});
