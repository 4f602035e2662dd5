import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../../src/providers/errors.js';
import { classifyCssFailure, classifyCssSuccess } from '../../../src/providers/shared/css-classify.js';
import { cssClusterState } from '../../../src/providers/shared/css-provider.js';
import { parseVendorError } from '../../../src/providers/shared/error-body.js';
import { parseRetryAfter } from '../../../src/providers/shared/retry-after.js';

const NOW = Date.UTC(2026, 0, 1);
const j = (o: unknown) => JSON.stringify(o);

describe('CSS failure classification (Huawei Cloud and OTC)', () => {
  const table: [number, string, ErrorKind, string | undefined][] = [
    [409, j({ errCode: 'CSS.0011', externalMessage: 'CSS.0011 : busy' }), 'busy', 'CSS.0011'],
    [409, j({ error_code: 'CSS.6013', error_msg: 'another operation' }), 'busy', 'CSS.6013'],
    [409, j({ errCode: 'CSS.0077', externalMessage: 'scaling' }), 'busy', 'CSS.0077'],
    [409, 'not json', 'busy', undefined],
    [429, j({ error_code: 'APIG.0308', error_msg: 'throttled', request_id: 'r1' }), 'throttled', 'APIG.0308'],
    [400, j({ errCode: 'CSS.0050', externalMessage: 'invalid password' }), 'password-rejected', 'CSS.0050'],
    [400, j({ errCode: 'CSS.0066', externalMessage: 'invalid password' }), 'password-rejected', 'CSS.0066'],
    [400, j({ error: { code: 'CSS.2026', message: 'weak password' } }), 'password-rejected', 'CSS.2026'],
    [400, j({ errCode: 'CSS.0021', externalMessage: 'account frozen' }), 'auth', 'CSS.0021'],
    [400, j({ code: 'CSS.0001', message: 'bad body' }), 'bad-request', 'CSS.0001'],
    [400, '<html>bad gateway</html>', 'bad-response', undefined],
    [400, j({ unrelated: true }), 'bad-response', undefined],
    [400, j([1, 2]), 'bad-response', undefined],
    [412, j({ error_code: 'CSS.0031', error_msg: 'precondition' }), 'precondition', 'CSS.0031'],
    [
      401,
      j({ error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' }),
      'auth',
      'APIGW.0301',
    ],
    [401, j({ error_code: 'APIGW.0303', error_msg: 'timestamp expired' }), 'auth', 'APIGW.0303'],
    [403, j({ error_code: 'IAM.0003', error_msg: 'forbidden' }), 'auth', 'IAM.0003'],
    [403, j({ errCode: 'CSS.0015', externalMessage: 'no such cluster' }), 'not-found', 'CSS.0015'],
    [404, j({ errCode: 'CSS.0002', externalMessage: 'no such cluster' }), 'not-found', 'CSS.0002'],
    // OTC's error-code table: 400 CSS.0047 "The cluster does not exist or has been deleted."
    [400, j({ errCode: 'CSS.0047', externalMessage: 'deleted' }), 'not-found', 'CSS.0047'],
    // CSS.0045: the token is not valid
    [401, j({ errCode: 'CSS.0045', externalMessage: 'bad token' }), 'auth', 'CSS.0045'],
    [400, j({ error_code: 'CSS.0045', error_msg: 'bad token' }), 'auth', 'CSS.0045'],
    [404, '', 'not-found', undefined],
    [500, j({ error: { error_code: 'CSS.0001', error_msg: 'internal' } }), 'unknown-outcome', 'CSS.0001'],
    [502, '<html/>', 'unknown-outcome', undefined],
    [503, '', 'unknown-outcome', undefined],
    [418, j({ code: 'X', message: 'teapot' }), 'bad-request', 'X'],
    [302, '', 'bad-response', undefined],
  ];
  it.each(table)('HTTP %i %s → %s', (status, text, kind, vendorCode) => {
    const c = classifyCssFailure({ status, headers: {}, text, nowMs: NOW });
    expect(c.kind).toBe(kind);
    expect(c.status).toBe(status);
    expect(c.vendorCode).toBe(vendorCode);
  });

  it('keeps the request id (header first, then body) and Retry-After', () => {
    const body = j({ error_code: 'APIG.0308', error_msg: 'm', request_id: 'body-id' });
    expect(
      classifyCssFailure({ status: 429, headers: { 'retry-after': '7' }, text: body, nowMs: NOW }),
    ).toEqual({
      kind: 'throttled',
      status: 429,
      vendorCode: 'APIG.0308',
      vendorMessage: 'm',
      requestId: 'body-id',
      retryAfterMs: 7000,
    });
    const h = classifyCssFailure({ status: 409, headers: { 'x-request-id': 'hdr' }, text: body, nowMs: NOW });
    expect(h.requestId).toBe('hdr');
  });
});

describe('CSS 2xx answers: applied only without an error code', () => {
  const busy202 = j({ errCode: 'CSS.0011', externalMessage: 'CSS.0011 : another operation' });
  const table: [number, string, ErrorKind | undefined, string | undefined][] = [
    [200, '', undefined, undefined],
    [200, '{}', undefined, undefined],
    [200, j({ id: 'c1', status: '200', actions: [] }), undefined, undefined],
    [202, '', undefined, undefined],
    // both vendors' error-code tables list CSS.0011 with HTTP 202
    [202, busy202, 'busy', 'CSS.0011'],
    [200, busy202, 'busy', 'CSS.0011'],
    [202, j({ error_code: 'CSS.0011', error_msg: 'busy', request_id: 'r' }), 'busy', 'CSS.0011'],
    [202, j({ error: { code: 'CSS.6013', message: 'another operation' } }), 'busy', 'CSS.6013'],
    [202, j({ code: 'CSS.0077', message: 'scaling' }), 'busy', 'CSS.0077'],
    [200, j({ errCode: 'CSS.2026', externalMessage: 'weak' }), 'password-rejected', 'CSS.2026'],
    [200, j({ errCode: 'CSS.0045', externalMessage: 'bad token' }), 'auth', 'CSS.0045'],
    [200, j({ errCode: 'CSS.0015', externalMessage: 'no such cluster' }), 'not-found', 'CSS.0015'],
    [200, j({ errCode: 'CSS.9999', externalMessage: 'something' }), 'bad-response', 'CSS.9999'],
  ];
  it.each(table)('HTTP %i %s → %s', (status, text, kind, vendorCode) => {
    const c = classifyCssSuccess({ status, headers: { 'x-request-id': 'h1' }, text, nowMs: NOW });
    expect(c?.kind).toBe(kind);
    expect(c?.vendorCode).toBe(vendorCode);
    if (c) expect(c).toMatchObject({ status, requestId: 'h1' });
  });
});

describe('vendor error bodies', () => {
  it.each([
    [
      { error_code: 'A', error_msg: 'm', request_id: 'r' },
      { code: 'A', message: 'm', requestId: 'r' },
    ],
    [
      { errCode: 'CSS.0011', externalMessage: 'x' },
      { code: 'CSS.0011', message: 'x' },
    ],
    [
      { code: 0, message: 'SUCCESS', requestId: 'r' },
      { code: '0', message: 'SUCCESS', requestId: 'r' },
    ],
    [
      { error: { errorCode: 210, message: 'Permission Denied' } },
      { code: '210', message: 'Permission Denied' },
    ],
    [
      { error: { errorCode: '210', message: 'Permission Denied' }, requestId: 'q' },
      { code: '210', message: 'Permission Denied', requestId: 'q' },
    ],
    [{ error: { code: 'C', message: 'm' } }, { code: 'C', message: 'm' }],
  ])('%j', (body, expected) => {
    expect(parseVendorError(JSON.stringify(body))).toEqual(expected);
  });
  it.each(['', 'null', '"str"', '42', '{', '{"a":1}', '{"error":"text"}'])(
    'unknown shape %j is undefined',
    (t) => {
      expect(parseVendorError(t)).toBeUndefined();
    },
  );
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates against the clock', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-1', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });
});

describe('CSS cluster state', () => {
  const inst = (...s: string[]) => s.map((status) => ({ status }));
  it.each([
    [{ status: '200', actions: [], instances: inst('200', '200') }, 'ready'],
    [{ status: '200', actions: ['REBOOTING'], instances: inst('200') }, 'busy'],
    [{ status: '200', actions: [], instances: [] }, 'busy'],
    [{ status: '200', instances: inst('200', '100') }, 'busy'],
    [{ status: '200', instances: inst('200', '303') }, 'failed'],
    [{ status: '100', actions: [], instances: inst('200') }, 'busy'],
    [{ status: '303', failedReason: { errorCode: 'x' }, instances: inst('303') }, 'failed'],
    [{ status: '400' }, 'failed'],
  ])('%j → %s', (doc, state) => {
    expect(cssClusterState(doc).state).toBe(state);
  });
});
