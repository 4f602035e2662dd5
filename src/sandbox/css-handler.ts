import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { SandboxCluster } from './cluster.js';
import { answerFault } from './fault-answer.js';
import { type Exchange, jsonBody, type SandboxState, send, trackReset } from './http.js';
import { checkCssPassword } from './password-rules.js';
import { css } from './responses.js';
import { verifySdkHmacSha256 } from './verify-sdk-hmac.js';

/** Huawei Cloud and Open Telekom Cloud CSS: `GET .../clusters/{id}` and `POST .../password/reset`. */

export const CSS_MAX_SKEW_MS = 15 * 60_000;

/**
 * The headers an AK/SK-signed CSS call must have signed besides host and x-sdk-date. The reference
 * signs `content-type;host;x-project-id;x-sdk-date` (the providers send and sign Content-Type on GET
 * too): a sent X-Project-Id or Content-Type must be signed, and so must Content-Type whenever there
 * is a body, so neither can be swapped in transit.
 */
function cssMustSign(req: Pick<IncomingMessage, 'headers'>, body: Uint8Array): string[] {
  const out: string[] = [];
  if (req.headers['content-type'] !== undefined || body.length > 0) out.push('content-type');
  if (req.headers['x-project-id'] !== undefined) out.push('x-project-id');
  return out;
}

/** The new password of a well-formed reset body (`{"newpassword": "..."}` as JSON, nothing else). */
function resetPassword(x: Exchange): string | undefined {
  const parsed = jsonBody(x);
  const ct = String(x.req.headers['content-type'] ?? '');
  const ok =
    ct.startsWith('application/json') &&
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length === 1 &&
    typeof (parsed as { newpassword?: unknown }).newpassword === 'string';
  return ok ? (parsed as { newpassword: string }).newpassword : undefined;
}

/** The cluster document CSS answers to a status call. */
function statusDocument(cluster: SandboxCluster, busy: boolean) {
  const failed = cluster.lifecycle === 'failed';
  return {
    id: cluster.spec.clusterId,
    name: cluster.key,
    status: failed ? '303' : busy ? '100' : '200',
    actions: busy ? ['RESETPASSWORD'] : [],
    actionProgress: busy ? { RESETPASSWORD: '50%' } : {},
    authorityEnable: cluster.spec.authorityEnable ?? true,
    httpsEnable: true,
    endpoint: '127.0.0.1:9200',
    datastore: { type: 'elasticsearch', version: '7.10.2' },
    instances: [{ id: `${cluster.key}-ess-1`, type: 'ess', status: failed ? '303' : '200', ip: '127.0.0.1' }],
    ...(failed ? { failedReason: { errorCode: 'CSS.6000', errorMsg: 'simulated failure' } } : {}),
  };
}

export async function handleCss(
  x: Exchange,
  state: SandboxState,
  projectId: string,
  clusterId: string,
  isReset: boolean,
): Promise<void> {
  const { clusters, clock, defaults } = state;
  const ridHeader = { 'x-request-id': x.requestId };
  const { req } = x;
  x.entry.operation = isReset ? 'reset' : 'status';
  if (req.method !== (isReset ? 'POST' : 'GET'))
    return send(x, css.noApi(x.requestId), 'no such api', ridHeader);

  const route = clusters.css(projectId, clusterId);
  let identity: { accessKey?: string; token?: string };
  const token = req.headers['x-auth-token'];
  if (typeof token === 'string' && token !== '') {
    x.entry.accessKey = 'token';
    identity = { token };
  } else {
    const v = verifySdkHmacSha256(
      { method: req.method ?? '', target: x.target, headers: req.headers, body: x.body },
      {
        secretFor: (ak) => clusters.cssSecretKey(ak),
        nowMs: clock.now(),
        maxSkewMs: CSS_MAX_SKEW_MS,
        mustSign: cssMustSign(req, x.body),
      },
    );
    if (v.accessKey) x.entry.accessKey = v.accessKey;
    if (!v.ok) {
      const a =
        v.reason === 'skew'
          ? css.gateway(
              401,
              'APIGW.0303',
              'Incorrect app authentication information: the request has expired (X-Sdk-Date)',
              x.requestId,
            )
          : css.gateway(
              401,
              'APIGW.0301',
              'Incorrect IAM authentication information: verify aksk signature fail',
              x.requestId,
            );
      return send(x, a, `auth ${v.reason}`, ridHeader);
    }
    identity = { accessKey: v.accessKey };
  }
  const owns = (c: SandboxCluster) =>
    identity.token !== undefined
      ? (c.spec.tokens ?? []).includes(identity.token)
      : c.spec.accessKey === identity.accessKey;
  if (identity.token !== undefined && !clusters.isKnownToken(identity.token)) {
    const a = css.gateway(
      401,
      'APIGW.0301',
      'Incorrect IAM authentication information: token invalid',
      x.requestId,
    );
    return send(x, a, 'auth token', ridHeader);
  }
  const projectHeader = req.headers['x-project-id'];
  if (projectHeader !== undefined && projectHeader !== projectId) {
    return send(
      x,
      css.error(400, 'CSS.0001', 'X-Project-Id does not match the project in the URI.'),
      'bad-request project',
      ridHeader,
    );
  }
  if (!route || !owns(route)) return send(x, css.notFound(), 'not-found CSS.0015', ridHeader);
  const cluster = route;
  x.entry.provider = cluster.provider;
  x.entry.cluster = cluster.key;
  if (isReset) trackReset(x, cluster, clock.now());

  const latency = cluster.latencyMs(defaults.latencyMs);
  if (latency > 0) await delay(latency);

  const apply = (pw: string) => cluster.apply(pw, clock.now(), cluster.busyMs(defaults.busyMs));
  const newPassword = isReset ? resetPassword(x) : undefined;
  const fault = cluster.takeFault(isReset ? 'reset' : 'status');
  if (fault) {
    return answerFault(x, cluster, fault, newPassword === undefined ? undefined : () => apply(newPassword));
  }

  if (!isReset) {
    const doc = statusDocument(cluster, cluster.isBusy(clock.now()));
    return send(x, { status: 200, body: JSON.stringify(doc) }, `ok ${doc.status}`, ridHeader);
  }
  if (newPassword === undefined) return send(x, css.badBody(), 'bad-request body', ridHeader);
  if (cluster.isBusy(clock.now()) || cluster.inFlightResets > 1)
    return send(x, css.busy(), 'busy CSS.0011', ridHeader);
  if (cluster.spec.authorityEnable === false)
    return send(x, css.notSecurityMode(), 'precondition not in security mode', ridHeader);
  const violation = checkCssPassword(newPassword);
  if (violation)
    return send(
      x,
      css.error(400, violation.code, violation.message.replace(`${violation.code} : `, '')),
      `password-rejected ${violation.code}`,
      ridHeader,
    );
  apply(newPassword);
  return send(x, { status: 200, body: '' }, 'ok', ridHeader);
}
