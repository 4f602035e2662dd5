import { setTimeout as delay } from 'node:timers/promises';
import { NCP_API_PREFIXES } from './cluster.js';
import { answerFault } from './fault-answer.js';
import { type Exchange, jsonBody, type SandboxState, send, trackReset } from './http.js';
import { checkNcpPassword } from './password-rules.js';
import { ncp } from './responses.js';
import { verifyNcpV2 } from './verify-ncp-v2.js';

/** Naver Cloud CDSS: `POST /api/{prefix}/cluster/{api}/{serviceGroupInstanceNo}`. */

export const NCP_MAX_SKEW_MS = 5 * 60_000;

export const NCP_APIS = ['resetMGMTPassword', 'resetCMAKPassword', 'getClusterInfoList'] as const;
export type NcpApi = (typeof NCP_APIS)[number];

/** The new password of a reset body (`kafkaManagerUserPassword`, a string). */
function resetPassword(x: Exchange): string | undefined {
  const parsed = jsonBody(x);
  const pw = (parsed as { kafkaManagerUserPassword?: unknown } | null)?.kafkaManagerUserPassword;
  return typeof parsed === 'object' && parsed !== null && typeof pw === 'string' ? pw : undefined;
}

export async function handleNcp(
  x: Exchange,
  state: SandboxState,
  prefix: string,
  api: NcpApi,
  no: string,
): Promise<void> {
  const { clusters, clock, defaults } = state;
  const { req } = x;
  const isReset = api !== 'getClusterInfoList';
  x.entry.operation = isReset ? 'reset' : 'status';
  if (req.method !== 'POST' || !(NCP_API_PREFIXES as readonly string[]).includes(prefix))
    return send(x, ncp.noApi(), 'no such api (gateway 300)');
  const v = verifyNcpV2(
    { method: req.method, target: x.target, headers: req.headers },
    { secretFor: (ak) => clusters.ncpSecretKey(ak), nowMs: clock.now(), maxSkewMs: NCP_MAX_SKEW_MS },
  );
  if (v.accessKey) x.entry.accessKey = v.accessKey;
  if (!v.ok) {
    const details = {
      missing: 'missing auth headers',
      'unknown-key': 'unknown access key',
      skew: 'timestamp out of range',
      signature: 'signature mismatch',
    }[v.reason];
    return send(x, ncp.authFailed(details), `auth ${v.reason}`);
  }
  const cluster = clusters.ncp(no);
  if (!cluster || cluster.spec.accessKey !== v.accessKey || (cluster.spec.apiPrefix ?? 'v1') !== prefix) {
    return send(x, ncp.notFound(x.requestId), 'not-found');
  }
  x.entry.provider = cluster.provider;
  x.entry.cluster = cluster.key;
  if (isReset) trackReset(x, cluster, clock.now());

  const latency = cluster.latencyMs(defaults.latencyMs);
  if (latency > 0) await delay(latency);

  const newPassword = isReset ? resetPassword(x) : undefined;
  const apply = (pw: string) => cluster.apply(pw, clock.now(), cluster.busyMs(defaults.busyMs));
  const fault = cluster.takeFault(isReset ? 'reset' : 'status');
  if (fault) {
    return answerFault(x, cluster, fault, newPassword === undefined ? undefined : () => apply(newPassword));
  }

  const busy = cluster.isBusy(clock.now());
  const lifecycle = cluster.lifecycle === 'failed' ? 'error' : busy ? 'changing' : 'running';
  if (!isReset) {
    const result = {
      clusterName: cluster.key,
      serviceGroupInstanceNo: cluster.spec.serviceGroupInstanceNo,
      kafkaManagerUserName: cluster.username,
      status: lifecycle,
    };
    return send(x, ncp.ok(result, x.requestId), `ok ${lifecycle}`);
  }
  if (newPassword === undefined) return send(x, ncp.badBody(x.requestId), 'bad-request body');
  if (busy || cluster.inFlightResets > 1) return send(x, ncp.busy(lifecycle, x.requestId), 'busy 1002');
  const violation = checkNcpPassword(newPassword);
  if (violation)
    return send(
      x,
      ncp.cdss(400, Number(violation.code), violation.message, x.requestId),
      `password-rejected ${violation.code}`,
    );
  apply(newPassword);
  return send(x, ncp.ok(true, x.requestId), 'ok');
}
