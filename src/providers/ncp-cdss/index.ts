import type { TargetConfig } from '../../config/schema.js';
import { scrubberOf } from '../../log/secret-registry.js';
import { PROVIDER_POLICIES } from '../../policy/catalog.js';
import { ProviderError } from '../errors.js';
import { NCP_SITES } from '../../config/provider-ids.js';
import type { Classified } from '../shared/classification.js';
import { type HttpAnswer, send } from '../shared/http.js';
import type {
  CallOptions,
  ClusterStatus,
  Provider,
  ProviderDeps,
  ProviderTarget,
  ResetResult,
} from '../types.js';
import { classifyNcpFailure, classifyNcpResetSuccess } from './classify.js';
import { ncpClusterInfoSchema } from './schema.js';
import { signNcpRequest } from './sign.js';
import { NCP_SITE_TABLE, ncpPrefix } from './sites.js';

const ID = 'ncp-cdss' as const;
const BUSY_STATES = new Set(['creating', 'changing']);

/** Pure: lifecycle from `result.status` of getClusterInfoList. */
export function ncpClusterState(status: string): ClusterStatus {
  if (status === 'running') return { state: 'ready' };
  if (BUSY_STATES.has(status)) return { state: 'busy', detail: `cluster ${status}` };
  return { state: 'failed', detail: `cluster ${status}` };
}

/**
 * The API base including the region's path prefix. An `endpoint` with a path is used as is
 * (e.g. `http://127.0.0.1:8080/api/sgn-v1`); a bare endpoint gets the region's prefix, or `/api/v1`.
 */
export function ncpBaseUrl(target: TargetConfig): string {
  const site = target.site ?? 'public';
  const prefix = ncpPrefix(site, target.region);
  if (target.endpoint) {
    const u = new URL(target.endpoint);
    const trimmed = target.endpoint.replace(/\/+$/, '');
    return u.pathname !== '/' && u.pathname !== '' ? trimmed : `${trimmed}${prefix ?? '/api/v1'}`;
  }
  if (!prefix) {
    const known = Object.keys(NCP_SITE_TABLE[site].regions).join(', ');
    throw new Error(`region '${target.region}' is not known for NCP site ${site}: must be one of: ${known}`);
  }
  return `${NCP_SITE_TABLE[site].baseUrl}${prefix}`;
}

/** Naver Cloud Cloud Data Streaming Service: the CMAK / manager password. */
export function createNcpCdss(deps: ProviderDeps): Provider {
  const fail = (operation: 'reset' | 'status', c: Classified, secrets: string[] = []) =>
    new ProviderError({
      ...c,
      provider: ID,
      operation,
      vendorMessage: c.vendorMessage === undefined ? undefined : scrubberOf(secrets).scrub(c.vendorMessage),
    });

  async function call(
    operation: 'reset' | 'status',
    target: ProviderTarget,
    path: string,
    body: Uint8Array | undefined,
    opts?: CallOptions,
  ): Promise<HttpAnswer> {
    const { accessKey, secretKey } = target.credentials;
    if (!accessKey || !secretKey) {
      throw new ProviderError({
        kind: 'auth',
        provider: ID,
        operation,
        detail: 'no access key + secret key resolved',
      });
    }
    const url = `${ncpBaseUrl(target.config)}${path}`;
    const headers: Record<string, string> = {
      ...signNcpRequest('POST', url, { accessKey, secretKey }, deps.clock.now()),
      accept: 'application/json',
    };
    if (body) headers['content-type'] = 'application/json';
    return send(
      { provider: ID, operation, method: 'POST', url, headers, ...(body ? { body } : {}) },
      deps,
      opts,
    );
  }

  const instanceNo = (target: ProviderTarget, operation: 'reset' | 'status') => {
    const no = target.config.serviceGroupInstanceNo;
    if (!no)
      throw new ProviderError({
        kind: 'bad-request',
        provider: ID,
        operation,
        detail: 'target needs serviceGroupInstanceNo',
      });
    return encodeURIComponent(no);
  };

  return {
    id: ID,
    policy: PROVIDER_POLICIES[ID],
    defaultUsername: 'admin',
    baseUrl: ncpBaseUrl,
    validateTarget(target) {
      if (!target.site)
        return [{ path: ['site'], message: `required for ${ID}: must be one of: ${NCP_SITES.join(', ')}` }];
      if (target.endpoint || ncpPrefix(target.site, target.region)) return [];
      const known = Object.keys(NCP_SITE_TABLE[target.site].regions).join(', ');
      return [
        {
          path: ['region'],
          message: `unknown region '${target.region}' for site ${target.site}: must be one of: ${known} (or set endpoint)`,
        },
      ];
    },
    async reset(target, password, opts): Promise<ResetResult> {
      const api = target.config.resetApi ?? 'resetMGMTPassword';
      const body = Buffer.from(JSON.stringify({ kafkaManagerUserPassword: password }), 'utf8');
      const a = await call('reset', target, `/cluster/${api}/${instanceNo(target, 'reset')}`, body, opts);
      const facts = { ...a, nowMs: deps.clock.now() };
      if (a.status < 200 || a.status >= 300) throw fail('reset', classifyNcpFailure(facts), [password]);
      const failure = classifyNcpResetSuccess(facts);
      if (failure) throw fail('reset', failure, [password]);
      const requestId = (JSON.parse(a.text) as { requestId?: unknown }).requestId;
      return typeof requestId === 'string' ? { status: a.status, requestId } : { status: a.status };
    },
    async status(target, opts): Promise<ClusterStatus> {
      const a = await call(
        'status',
        target,
        `/cluster/getClusterInfoList/${instanceNo(target, 'status')}`,
        undefined,
        opts,
      );
      if (a.status < 200 || a.status >= 300)
        throw fail('status', classifyNcpFailure({ ...a, nowMs: deps.clock.now() }));
      let json: unknown;
      try {
        json = JSON.parse(a.text);
      } catch {
        throw fail('status', { kind: 'bad-response', status: a.status });
      }
      const parsed = ncpClusterInfoSchema.safeParse(json);
      if (!parsed.success || String(parsed.data.code) !== '0' || !parsed.data.result) {
        const c = classifyNcpResetSuccess({ ...a, nowMs: 0 }) ?? {
          kind: 'bad-response' as const,
          status: a.status,
        };
        throw fail('status', { ...c, kind: 'bad-response' });
      }
      const state: ClusterStatus = ncpClusterState(parsed.data.result.status);
      const managerUser = parsed.data.result.kafkaManagerUserName;
      if (typeof managerUser === 'string' && managerUser !== '') state.managerUser = managerUser;
      const requestId = parsed.data.requestId;
      return requestId ? { ...state, requestId } : state;
    },
  } satisfies Provider;
}
