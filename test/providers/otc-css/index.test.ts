import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/core/clock.js';
import { createProvider } from '../../../src/providers/registry.js';
import { clusterSchema } from '../../../src/providers/otc-css/schema.js';
import { signRequest } from '../../../src/providers/otc-css/sign.js';
import { verifySdkHmacSha256 } from '../../../src/sandbox/verify-sdk-hmac.js';

const NOW = Date.UTC(2026, 4, 6, 7, 8, 9);

describe('otc-css', () => {
  it('signs content-type, host, x-project-id and x-sdk-date with AK/SK; sends X-Auth-Token with a token', () => {
    const url = 'https://css.eu-nl.otc.t-systems.com/v1.0/p1/clusters/c1/password/reset';
    const body = Buffer.from('{"newpassword":"Abcdef-123"}');
    const headers = signRequest(
      { method: 'POST', url, projectId: 'p1', body },
      { accessKey: 'AK', secretKey: 'SK' },
      NOW,
    );
    expect(headers?.Authorization).toMatch(
      /^SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$/,
    );
    const verified = verifySdkHmacSha256(
      {
        method: 'POST',
        target: '/v1.0/p1/clusters/c1/password/reset',
        headers: { ...headers, host: 'css.eu-nl.otc.t-systems.com' },
        body,
      },
      { secretFor: () => 'SK', nowMs: NOW, maxSkewMs: 1000, mustSign: ['x-project-id'] },
    );
    expect(verified).toMatchObject({ ok: true });
    expect(
      signRequest({ method: 'GET', url, projectId: 'p1', body: new Uint8Array() }, { token: 'T' }, NOW),
    ).toEqual({
      'Content-Type': 'application/json',
      'X-Project-Id': 'p1',
      'X-Auth-Token': 'T',
    });
    expect(
      signRequest({ method: 'GET', url, projectId: 'p1', body: new Uint8Array() }, { accessKey: 'AK' }, NOW),
    ).toBeUndefined();
  });

  it("parses the reference's cluster document", () => {
    const doc = clusterSchema.parse({
      id: '4f3deec3-1',
      name: 'css-8bc5',
      status: '200',
      actions: [],
      actionProgress: {},
      authorityEnable: true,
      instances: [{ id: 'inst-1', type: 'ess', status: '200', ip: '192.168.0.122' }],
    });
    expect(doc.status).toBe('200');
    expect(clusterSchema.safeParse({ name: 'no status' }).success).toBe(false);
  });

  it('uses the region table and the target endpoint', () => {
    const p = createProvider('otc-css', { fetch, clock: manualClock(), timeoutMs: 1000 });
    expect(p.id).toBe('otc-css');
    expect(p.defaultUsername).toBe('admin');
    expect(p.baseUrl({ region: 'eu-nl' } as never)).toBe('https://css.eu-nl.otc.t-systems.com');
  });
});
