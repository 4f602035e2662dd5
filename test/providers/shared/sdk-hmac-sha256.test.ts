import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalUri,
  formatSdkDate,
  signSdkHmacSha256,
} from '../../../src/providers/shared/sdk-hmac-sha256.js';
import { verifySdkHmacSha256 } from '../../../src/sandbox/verify-sdk-hmac.js';
import { HUAWEI_GUIDE_VECTOR as V } from '../vectors.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const creds = { accessKey: 'AK-TEST', secretKey: 'sk/with+odd=chars' };
const NOW = Date.UTC(2026, 2, 4, 5, 6, 7);

/** Signs with the client signer, then hands the request to the sandbox verifier as a server would see it. */
function roundTrip(url: string, method: string, body: string, extra: Record<string, string> = {}) {
  const bytes = Buffer.from(body, 'utf8');
  const signed = signSdkHmacSha256({ method, url, headers: extra, body: bytes }, creds, NOW);
  const u = new URL(url);
  const received = {
    method,
    target: `${u.pathname}${u.search}`,
    headers: { ...signed.headers, host: u.host },
    body: bytes,
  };
  const verify = (over: Partial<typeof received> = {}, nowMs = NOW) =>
    verifySdkHmacSha256(
      { ...received, ...over },
      {
        secretFor: (ak) => (ak === creds.accessKey ? creds.secretKey : undefined),
        nowMs,
        maxSkewMs: 900_000,
      },
    );
  return { signed, verify, received };
}

describe('SDK-HMAC-SHA256 signer', () => {
  it("reproduces Huawei's published signing-guide vector", () => {
    const s = signSdkHmacSha256(
      { method: V.method, url: V.url, headers: { 'Content-Type': V.contentType }, body: new Uint8Array() },
      { accessKey: V.accessKey, secretKey: V.secretKey },
      V.epochMs,
    );
    expect(s.signedHeaders).toBe(V.signedHeaders);
    expect(sha256(s.canonicalRequest)).toBe(V.canonicalRequestHash);
    expect(s.signature).toBe(V.signature);
    expect(s.headers['X-Sdk-Date']).toBe(V.sdkDate);
    expect(s.headers.Authorization).toBe(
      `SDK-HMAC-SHA256 Access=${V.accessKey}, SignedHeaders=${V.signedHeaders}, Signature=${V.signature}`,
    );
  });

  it('formats X-Sdk-Date in UTC', () => {
    expect(formatSdkDate(V.epochMs)).toBe('20191115T033655Z');
  });

  it.each([
    ['/v1.0/p/clusters/c/password/reset', '/v1.0/p/clusters/c/password/reset/'],
    ['/', '/'],
    ['', '/'],
    ['/a%20b/c', '/a%20b/c/'],
    ['/a%2fb', '/a%2Fb/'],
    ['/caf%C3%A9/x~y', '/caf%C3%A9/x~y/'],
    ["/it's(1)*", '/it%27s%281%29%2A/'],
    ['/trailing/', '/trailing/'],
  ])('canonical URI of %s is %s', (path, expected) => {
    expect(canonicalUri(path)).toBe(expected);
  });

  it.each([
    ['', ''],
    ['?', ''],
    ['?b=2&a=1&a=0', 'a=0&a=1&b=2'],
    ['?empty=&flag', 'empty=&flag='],
    ['?q=a%20b&r=x+y', 'q=a%20b&r=x%2By'],
    ['?k=%e2%82%ac', 'k=%E2%82%AC'],
  ])('canonical query of %j is %j', (search, expected) => {
    expect(canonicalQuery(search)).toBe(expected);
  });

  it('canonical headers: lower-case names, trimmed values, sorted', () => {
    expect(
      canonicalHeaders({ 'X-Sdk-Date': ' d ', Host: 'h:8443', 'Content-Type': 'application/json' }),
    ).toEqual({
      canonical: 'content-type:application/json\nhost:h:8443\nx-sdk-date:d\n',
      signed: 'content-type;host;x-sdk-date',
    });
  });

  it('signs a CSS-shaped reset: X-Project-Id signed, exact body bytes hashed, URI ends with /', () => {
    const body = JSON.stringify({ newpassword: 'Xy7!pass-wörd' });
    const url = 'https://css.eu-de.otc.t-systems.com/v1.0/6204a5bd/clusters/4f3deec3/password/reset';
    const { signed, verify } = roundTrip(url, 'POST', body, {
      'Content-Type': 'application/json;charset=utf8',
      'X-Project-Id': '6204a5bd',
    });
    expect(signed.signedHeaders).toBe('content-type;host;x-project-id;x-sdk-date');
    const lines = signed.canonicalRequest.split('\n');
    expect(lines[1]).toBe('/v1.0/6204a5bd/clusters/4f3deec3/password/reset/');
    expect(lines.at(-1)).toBe(createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex'));
    expect(lines).toContain('host:css.eu-de.otc.t-systems.com');
    expect(verify()).toMatchObject({ ok: true, accessKey: 'AK-TEST' });
    expect(verify({ body: Buffer.from(body.replace('Xy7', 'Xy8')) })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it.each([
    ['https://h.example.com:443/v1/x', 'h.example.com'],
    ['http://127.0.0.1:80/v1/x', '127.0.0.1'],
    ['http://127.0.0.1:8080/v1/x', '127.0.0.1:8080'],
    ['https://h.example.com:8443/v1/x?b=1&a=2', 'h.example.com:8443'],
  ])('signs the URL own host for %s (port only when not default)', (url, host) => {
    const { signed, verify, received } = roundTrip(url, 'GET', '', { 'Content-Type': 'application/json' });
    expect(signed.canonicalRequest.split('\n')).toContain(`host:${host}`);
    expect(verify()).toMatchObject({ ok: true });
    expect(verify({ headers: { ...received.headers, host: `${host}0` } })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });

  it('signs query strings and encoded path segments the way the verifier rebuilds them', () => {
    const url = 'http://127.0.0.1:9999/v1/a%20b/caf%C3%A9/%2Fslash?z=last&a=2&a=1&sp=x%20y&e=';
    const { verify, received } = roundTrip(url, 'GET', '');
    expect(verify()).toMatchObject({ ok: true });
    expect(verify({ target: received.target.replace('a=2', 'a=3') })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
    expect(verify({ target: received.target.replace('a%20b', 'a%20c') })).toMatchObject({
      ok: false,
      reason: 'signature',
    });
  });
});
