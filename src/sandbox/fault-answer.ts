import type { SandboxCluster } from './cluster.js';
import type { SandboxFault } from './faults.js';
import { type Exchange, send } from './http.js';
import { css, faultAnswer, ncp } from './responses.js';

/**
 * Answers a scripted fault the way the cluster's cloud would. `apply` carries out the reset, for
 * `drop-after-apply` (absent when the request had no acceptable new password).
 */
export function answerFault(
  x: Exchange,
  cluster: SandboxCluster,
  fault: SandboxFault,
  apply?: () => void,
): void {
  const p = cluster.provider;
  const ridHeader: Record<string, string> = p === 'ncp-cdss' ? {} : { 'x-request-id': x.requestId };
  switch (fault.type) {
    case 'http': {
      const canned = faultAnswer(p, fault.status, x.requestId);
      const body =
        fault.body === undefined
          ? canned.body
          : typeof fault.body === 'string'
            ? fault.body
            : JSON.stringify(fault.body);
      send(
        x,
        { status: fault.status, body, headers: { ...fault.headers } },
        `fault http ${fault.status}`,
        ridHeader,
      );
      return;
    }
    case 'throttle': {
      const headers = { 'retry-after': fault.retryAfter ?? '2' };
      const a =
        p === 'ncp-cdss'
          ? ncp.gateway(429, '410', 'Throttle Limited', headers)
          : css.gateway(429, 'APIG.0308', 'The throttling threshold has been reached', x.requestId, headers);
      send(x, a, 'fault throttle', ridHeader);
      return;
    }
    case 'hang':
      x.entry.status = 0;
      x.entry.outcome = 'fault hang';
      return;
    case 'drop-after-apply':
      apply?.();
      x.entry.status = 0;
      x.entry.outcome = apply ? 'fault drop-after-apply (applied)' : 'fault drop';
      x.req.socket.destroy();
      return;
    case 'malformed-json': {
      const status = x.entry.operation === 'reset' && p !== 'ncp-cdss' ? 400 : 200;
      send(
        x,
        { status, body: p === 'ncp-cdss' ? '{"code":0,"message":"SUCC' : '{"errCode":"CSS.00' },
        'fault malformed-json',
        ridHeader,
      );
      return;
    }
    case 'result-null':
      send(
        x,
        {
          status: 200,
          body: JSON.stringify({ code: 0, message: 'SUCCESS', result: null, requestId: x.requestId }),
        },
        'fault result-null',
      );
      return;
    case 'busy': {
      const a = p === 'ncp-cdss' ? ncp.busy('changing', x.requestId) : css.busy();
      send(x, a, 'fault busy', ridHeader);
      return;
    }
    case 'busy202':
      send(x, css.busy202(), 'fault busy202 CSS.0011', ridHeader);
      return;
  }
}
