import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../../src/config/schema.js';
import { manualClock } from '../../../src/core/clock.js';
import { type ErrorKind, isProviderError, type ProviderError } from '../../../src/providers/errors.js';
import {
  classifyNcpFailure,
  classifyNcpResetSuccess,
  GUESSED_KIND_DETAIL,
  UNKNOWN_ROUTE_DETAIL,
} from '../../../src/providers/ncp-cdss/classify.js';
import { createProvider } from '../../../src/providers/registry.js';
import { sandboxTarget, startSandbox } from '../../../src/sandbox/index.js';
import { ncpBaseUrl, ncpClusterState } from '../../../src/providers/ncp-cdss/index.js';
import { sandboxSpec } from '../../support/sandbox.js';

const j = (o: unknown) => JSON.stringify(o);
const gw = (errorCode: string | number, message: string) => j({ error: { errorCode, message } });

describe('NCP failure classification', () => {
  const table: [number, string, ErrorKind, string | undefined][] = [
    [401, gw('200', 'Authentication Failed'), 'auth', '200'],
    [401, gw(210, 'Permission Denied'), 'auth', '210'],
    [403, gw('210', 'Permission Denied'), 'auth', '210'],
    [429, gw('400', 'Quota Exceeded'), 'throttled', '400'],
    [429, gw(410, 'Throttle Limited'), 'throttled', '410'],
    [429, gw('420', 'Rate Limited'), 'throttled', '420'],
    [400, gw('100', 'Bad Request Exception'), 'bad-request', '100'],
    [
      400,
      j({ code: 1001, message: 'Invalid kafkaManagerUserPassword: too short', stackTrace: null }),
      'password-rejected',
      '1001',
    ],
    [400, 'garbage', 'bad-response', undefined],
    // the gateway does not know the route (wrong site/region prefix, retired path): a config error
    [404, gw('300', 'Not Found Exception'), 'bad-request', '300'],
    [404, gw(300, 'Not Found Exception'), 'bad-request', '300'],
    // CDSS itself says the cluster does not exist
    [404, j({ code: 1003, message: 'The cluster does not exist.' }), 'not-found', '1003'],
    [404, '', 'not-found', undefined],
    [409, j({ code: 1002, message: 'cluster is changing' }), 'busy', '1002'],
    [412, '', 'precondition', undefined],
    [413, gw('430', 'Request Entity Too Large'), 'bad-request', '430'],
    [500, gw('900', 'Unexpected Error'), 'unknown-outcome', '900'],
    [503, gw('500', 'Endpoint Error'), 'unknown-outcome', '500'],
    [504, gw('510', 'Endpoint Timeout'), 'unknown-outcome', '510'],
  ];
  it.each(table)('HTTP %i %s → %s', (status, text, kind, vendorCode) => {
    const c = classifyNcpFailure({ status, headers: {}, text, nowMs: 0 });
    expect(c).toMatchObject({ kind, status });
    expect(c.vendorCode).toBe(vendorCode);
  });

  it('names a gateway 404 (errorCode 300, string or number) a config error with the hint, not a missing cluster', () => {
    for (const code of ['300', 300]) {
      const c = classifyNcpFailure({
        status: 404,
        headers: {},
        text: gw(code, 'Not Found Exception'),
        nowMs: 0,
      });
      expect(c.detail).toBe(UNKNOWN_ROUTE_DETAIL);
      expect(c.detail).toMatch(/^config error: unknown route .*site and region .*retired/);
    }
    // errorCode 300 only means this in the gateway's own error shape
    const cdss = classifyNcpFailure({
      status: 404,
      headers: {},
      text: j({ code: 300, message: 'x' }),
      nowMs: 0,
    });
    expect(cdss).toMatchObject({ kind: 'not-found' });
    expect(cdss.detail).toBeUndefined();
  });

  it('takes Retry-After on 429', () => {
    expect(
      classifyNcpFailure({ status: 429, headers: { 'retry-after': '3' }, text: '', nowMs: 0 }).retryAfterMs,
    ).toBe(3000);
  });

  it.each([
    [j({ code: 0, message: 'SUCCESS', result: true, requestId: 'r' }), undefined],
    [j({ code: '0', message: 'SUCCESS', result: true }), undefined],
    [j({ code: 0, message: 'SUCCESS', result: null, requestId: 'r' }), 'bad-response'],
    [j({ code: 0, message: 'SUCCESS', result: false }), 'bad-response'],
    [j({ code: 1001, message: 'invalid password', result: null }), 'password-rejected'],
    [j({ code: 5, message: 'something else', result: true }), 'bad-response'],
    ['{"code":0,', 'bad-response'],
    [j({ result: true }), 'bad-response'],
  ])('200 with %s → %s', (text, kind) => {
    expect(classifyNcpResetSuccess({ status: 200, headers: {}, text, nowMs: 0 })?.kind).toBe(kind);
  });
});

describe('NCP password-rejected is a guess from the message text (CDSS codes are undocumented)', () => {
  const cdss = (status: number, message: string, code = 1001) => ({
    status,
    headers: {},
    text: j({ code, message, stackTrace: null }),
    nowMs: 0,
  });
  const table: [string, ErrorKind][] = [
    // the password's value is refused: a fresh one may pass
    ['Invalid kafkaManagerUserPassword: must be 8 to 20 characters', 'password-rejected'],
    ['Invalid kafkaManagerUserPassword: contains a character that is not allowed', 'password-rejected'],
    ['The password does not meet the complexity requirements.', 'password-rejected'],
    ['Password is too weak', 'password-rejected'],
    ['password must not be the same as the previous password', 'password-rejected'],
    ['Invalid password format', 'password-rejected'],
    // the cluster is changing: not the password's fault, ask again later
    ['cannot reset password while changing', 'busy'],
    ['Password reset in progress', 'busy'],
    ['A password change is already in progress for this cluster.', 'busy'],
    ['The manager password cannot be reset while the cluster is being updated', 'busy'],
    ['The cluster cannot be changed while its status is changing.', 'busy'],
    ['another operation is running on the cluster; try again later', 'busy'],
    // about the password, but not about its value: a human must look
    ['Password reset is not supported for this cluster type', 'bad-request'],
    ['Password reset failed', 'bad-request'],
    ['Bad Request: malformed request body.', 'bad-request'],
  ];

  it.each(table)('400 "%s" → %s', (message, kind) => {
    const c = classifyNcpFailure(cdss(400, message));
    expect(c.kind).toBe(kind);
    if (kind === 'bad-request') expect(c.detail).toBeUndefined();
    else expect(c.detail).toMatch(/guess(ed)? from the vendor message text/);
  });

  it.each(table.map(([m, k]) => [m, k === 'bad-request' ? 'bad-response' : k] as const))(
    '200 with code 1001 "%s" → %s',
    (message, kind) => {
      const c = classifyNcpResetSuccess({
        ...cdss(200, message),
        text: j({ code: 1001, message, result: null }),
      });
      expect(c?.kind).toBe(kind);
    },
  );

  it('says so in the ProviderError the provider throws for the sandbox, without the password', async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const sandbox = await startSandbox({ clock });
    try {
      const cluster = sandbox.clusters.add(sandboxSpec('ncp-cdss', 7));
      const p = createProvider('ncp-cdss', { fetch: globalThis.fetch, clock, timeoutMs: 5_000 });
      const password = 'Sh0rt-x';
      const err = await p.reset(sandboxTarget(sandbox.url, cluster), password).catch((e: unknown) => e);
      expect(isProviderError(err)).toBe(true);
      const e = err as ProviderError;
      expect(e.kind).toBe('password-rejected');
      expect(e.detail).toBe(GUESSED_KIND_DETAIL);
      expect(e.message).toContain(GUESSED_KIND_DETAIL);
      expect(`${e.message} ${JSON.stringify(e)}`).not.toContain(password);
    } finally {
      await sandbox.close();
    }
  });
});

describe('NCP lifecycle and URLs', () => {
  it.each([
    ['running', 'ready'],
    ['creating', 'busy'],
    ['changing', 'busy'],
    ['deleting', 'failed'],
    ['error', 'failed'],
    ['return', 'failed'],
  ])('%s → %s', (s, state) => {
    expect(ncpClusterState(s).state).toBe(state);
  });

  const t = (over: Partial<TargetConfig>) =>
    ({ provider: 'ncp-cdss', site: 'public', region: 'KR', ...over }) as TargetConfig;
  it('builds base URLs from the site/region table or the endpoint', () => {
    expect(ncpBaseUrl(t({}))).toBe('https://clouddatastreamingservice.apigw.ntruss.com/api/v1');
    expect(ncpBaseUrl(t({ region: 'sgn' }))).toBe(
      'https://clouddatastreamingservice.apigw.ntruss.com/api/sgn-v1',
    );
    expect(ncpBaseUrl(t({ site: 'gov', region: 'KRS' }))).toBe(
      'https://clouddatastreamingservice.apigw.gov-ntruss.com/api/krs-v1',
    );
    expect(ncpBaseUrl(t({ site: 'fin', region: 'FKR' }))).toBe(
      'https://fin-clouddatastreamingservice.apigw.fin-ntruss.com/api/v1',
    );
    expect(ncpBaseUrl(t({ endpoint: 'http://127.0.0.1:9/' }))).toBe('http://127.0.0.1:9/api/v1');
    expect(ncpBaseUrl(t({ region: 'JPN', endpoint: 'http://127.0.0.1:9' }))).toBe(
      'http://127.0.0.1:9/api/jpn-v1',
    );
    expect(ncpBaseUrl(t({ region: 'XX', endpoint: 'http://127.0.0.1:9/api/x-v1/' }))).toBe(
      'http://127.0.0.1:9/api/x-v1',
    );
    expect(() => ncpBaseUrl(t({ region: 'XX' }))).toThrow('must be one of: KR, SGN, JPN');
  });
});
