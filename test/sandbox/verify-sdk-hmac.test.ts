import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  parseSdkDate,
  serverCanonicalRequest,
  verifySdkHmacSha256,
} from '../../src/sandbox/verify-sdk-hmac.js';
import { HUAWEI_GUIDE_VECTOR as V } from '../providers/vectors.js';

const vectorRequest = (headers: Record<string, string> = {}) => ({
  method: V.method,
  target: V.target,
  headers: {
    'content-type': V.contentType,
    host: V.host,
    'x-sdk-date': V.sdkDate,
    authorization: `SDK-HMAC-SHA256 Access=${V.accessKey}, SignedHeaders=${V.signedHeaders}, Signature=${V.signature}`,
    ...headers,
  },
  body: new Uint8Array(),
});
const secretFor = (ak: string) => (ak === V.accessKey ? V.secretKey : undefined);

describe('sandbox SDK-HMAC-SHA256 verifier', () => {
  it("rebuilds the published vector's canonical request", () => {
    const canonical = serverCanonicalRequest(vectorRequest(), V.signedHeaders.split(';'));
    expect(createHash('sha256').update(canonical).digest('hex')).toBe(V.canonicalRequestHash);
  });

  it('accepts the published vector within the skew window and rejects it outside', () => {
    const ok = verifySdkHmacSha256(vectorRequest(), {
      secretFor,
      nowMs: V.epochMs + 14 * 60_000,
      maxSkewMs: 15 * 60_000,
    });
    expect(ok).toEqual({
      ok: true,
      accessKey: V.accessKey,
      signedHeaders: ['content-type', 'host', 'x-sdk-date'],
    });
    const late = verifySdkHmacSha256(vectorRequest(), {
      secretFor,
      nowMs: V.epochMs + 16 * 60_000,
      maxSkewMs: 15 * 60_000,
    });
    expect(late).toMatchObject({ ok: false, reason: 'skew' });
  });

  it('rejects a wrong signature, an unknown key, missing headers and unsigned required headers', () => {
    const opts = { secretFor, nowMs: V.epochMs, maxSkewMs: 900_000 };
    const bad = `SDK-HMAC-SHA256 Access=${V.accessKey}, SignedHeaders=${V.signedHeaders}, Signature=${'0'.repeat(64)}`;
    expect(verifySdkHmacSha256(vectorRequest({ authorization: bad }), opts)).toMatchObject({
      reason: 'signature',
    });
    expect(verifySdkHmacSha256(vectorRequest(), { ...opts, secretFor: () => undefined })).toMatchObject({
      reason: 'unknown-key',
    });
    const { authorization: _a, ...noAuth } = vectorRequest().headers;
    expect(verifySdkHmacSha256({ ...vectorRequest(), headers: noAuth }, opts)).toMatchObject({
      reason: 'missing',
    });
    expect(verifySdkHmacSha256(vectorRequest(), { ...opts, mustSign: ['x-project-id'] })).toMatchObject({
      reason: 'malformed',
    });
    expect(
      verifySdkHmacSha256(vectorRequest({ host: 'service.region.example.com:8443' }), opts),
    ).toMatchObject({
      reason: 'signature',
    });
  });

  it('verifies a hand-built CSS request with a port, encoded segments and a query', () => {
    // Built here step by step from the reference text, not with the client signer.
    const body = Buffer.from('{"newpassword":"Abc-123_def"}');
    const date = '20260304T050607Z';
    const canonical = [
      'POST',
      '/v1.0/p%20x/clusters/c1/password/reset/',
      'a=1&b=',
      'content-type:application/json\nhost:127.0.0.1:8080\nx-project-id:p x\nx-sdk-date:20260304T050607Z\n',
      'content-type;host;x-project-id;x-sdk-date',
      createHash('sha256').update(body).digest('hex'),
    ].join('\n');
    const sts = `SDK-HMAC-SHA256\n${date}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const sig = createHmac('sha256', 'SK').update(sts).digest('hex');
    const req = {
      method: 'POST',
      target: '/v1.0/p%20x/clusters/c1/password/reset?b&a=1',
      headers: {
        'Content-Type': 'application/json',
        Host: '127.0.0.1:8080',
        'X-Project-Id': 'p x',
        'X-Sdk-Date': date,
        Authorization: `SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${sig}`,
      },
      body,
    };
    const opts = {
      secretFor: (ak: string) => (ak === 'AK' ? 'SK' : undefined),
      nowMs: parseSdkDate(date)!,
      maxSkewMs: 1,
    };
    expect(verifySdkHmacSha256(req, opts)).toMatchObject({ ok: true });
    expect(verifySdkHmacSha256({ ...req, body: Buffer.from(`${body} `) }, opts)).toMatchObject({
      reason: 'signature',
    });
  });
});
