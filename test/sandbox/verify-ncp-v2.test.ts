import { describe, expect, it } from 'vitest';
import { expectedNcpSignature, verifyNcpV2 } from '../../src/sandbox/verify-ncp-v2.js';
import { NCP_VECTOR as V } from '../providers/vectors.js';

const headers = (over: Record<string, string> = {}) => ({
  'x-ncp-apigw-timestamp': V.timestamp,
  'x-ncp-iam-access-key': V.accessKey,
  'x-ncp-apigw-signature-v2': V.signature,
  ...over,
});
const secretFor = (ak: string) => (ak === V.accessKey ? V.secretKey : undefined);
const at = (nowMs: number) => ({ secretFor, nowMs, maxSkewMs: 5 * 60_000 });

describe('sandbox NCP signature v2 verifier', () => {
  it('computes the published vector', () => {
    expect(expectedNcpSignature(V.method, V.pathAndQuery, V.timestamp, V.accessKey, V.secretKey)).toBe(
      V.signature,
    );
  });

  it('accepts the vector within 5 minutes and rejects skew, wrong key, wrong path, missing headers', () => {
    const req = { method: V.method, target: V.pathAndQuery, headers: headers() };
    const t = Number(V.timestamp);
    expect(verifyNcpV2(req, at(t + 299_000))).toEqual({ ok: true, accessKey: V.accessKey });
    expect(verifyNcpV2(req, at(t - 301_000))).toMatchObject({ ok: false, reason: 'skew' });
    expect(verifyNcpV2(req, { ...at(t), secretFor: () => 'OTHER' })).toMatchObject({ reason: 'signature' });
    expect(verifyNcpV2(req, { ...at(t), secretFor: () => undefined })).toMatchObject({
      reason: 'unknown-key',
    });
    expect(verifyNcpV2({ ...req, target: `${V.pathAndQuery}?x=1` }, at(t))).toMatchObject({
      reason: 'signature',
    });
    expect(verifyNcpV2({ ...req, method: 'GET' }, at(t))).toMatchObject({ reason: 'signature' });
    expect(
      verifyNcpV2({ ...req, headers: headers({ 'x-ncp-apigw-signature-v2': '' }) }, at(t)),
    ).toMatchObject({
      reason: 'missing',
    });
  });

  it('checks a query string and a non-default port the client never signs', () => {
    const target = '/api/sgn-v1/cluster/getClusterInfoList/77?b=2&a=%20';
    const sig = expectedNcpSignature('POST', target, '5', 'AK', 'SK');
    const req = {
      method: 'POST',
      target,
      headers: {
        host: '127.0.0.1:8443',
        'x-ncp-apigw-timestamp': '5',
        'x-ncp-iam-access-key': 'AK',
        'x-ncp-apigw-signature-v2': sig,
      },
    };
    expect(verifyNcpV2(req, { secretFor: () => 'SK', nowMs: 5, maxSkewMs: 1 })).toMatchObject({ ok: true });
  });
});
