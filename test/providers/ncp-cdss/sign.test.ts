import { describe, expect, it } from 'vitest';
import { ncpSignatureV2, ncpStringToSign, signNcpRequest } from '../../../src/providers/ncp-cdss/sign.js';
import { verifyNcpV2 } from '../../../src/sandbox/verify-ncp-v2.js';
import { NCP_VECTOR as V } from '../vectors.js';

describe('NCP signature v2 signer', () => {
  it('reproduces the published vector', () => {
    expect(ncpSignatureV2(V)).toBe(V.signature);
    expect(ncpStringToSign(V)).toBe(`POST ${V.pathAndQuery}\n${V.timestamp}\n${V.accessKey}`);
  });

  it('signs path plus query exactly as sent, without scheme, host or port', () => {
    const creds = { accessKey: V.accessKey, secretKey: V.secretKey };
    const h = signNcpRequest('POST', `https://example.com:8443${V.pathAndQuery}`, creds, Number(V.timestamp));
    expect(h).toEqual({
      'x-ncp-apigw-timestamp': V.timestamp,
      'x-ncp-iam-access-key': V.accessKey,
      'x-ncp-apigw-signature-v2': V.signature,
    });
    const withQuery = signNcpRequest('GET', 'http://127.0.0.1:1/api/v1/x%20y?b=2&a=1', creds, 1);
    expect(withQuery['x-ncp-apigw-signature-v2']).toBe(
      ncpSignatureV2({ ...creds, method: 'GET', pathAndQuery: '/api/v1/x%20y?b=2&a=1', timestamp: '1' }),
    );
    const verified = verifyNcpV2(
      { method: 'GET', target: '/api/v1/x%20y?b=2&a=1', headers: withQuery },
      { secretFor: () => V.secretKey, nowMs: 1, maxSkewMs: 300_000 },
    );
    expect(verified).toEqual({ ok: true, accessKey: V.accessKey });
    const reordered = verifyNcpV2(
      { method: 'GET', target: '/api/v1/x%20y?a=1&b=2', headers: withQuery },
      { secretFor: () => V.secretKey, nowMs: 1, maxSkewMs: 300_000 },
    );
    expect(reordered).toMatchObject({ ok: false, reason: 'signature' });
  });
});
