import type { TargetConfig } from '../../config/schema.js';
import { scrubberOf } from '../../log/secret-registry.js';
import { PROVIDER_POLICIES } from '../../policy/catalog.js';
import { ProviderError } from '../errors.js';
import type { ProviderId } from '../../config/provider-ids.js';
import type {
  CallOptions,
  ClusterStatus,
  Provider,
  ProviderDeps,
  ProviderTarget,
  ResetResult,
} from '../types.js';
import type { Classified } from './classification.js';
import { classifyCssFailure, classifyCssSuccess } from './css-classify.js';
import { type CssCluster, cssClusterSchema } from './css-schema.js';
import { signCssRequest } from './css-sign.js';
import { type HttpAnswer, send } from './http.js';

export interface CssCloud {
  id: Extract<ProviderId, 'huaweicloud-css' | 'otc-css'>;
  /** region → base URL. */
  regions: Readonly<Record<string, string>>;
}

/** Pure: the lifecycle state from a cluster document. */
export function cssClusterState(c: CssCluster): ClusterStatus {
  const actions = c.actions ?? [];
  const instances = c.instances ?? [];
  const failed = c.failedReason ?? c.failed_reasons;
  if (c.status === '303') {
    return {
      state: 'failed',
      detail: `cluster status 303 (unavailable)${failed ? ' with a failed reason' : ''}`,
    };
  }
  if (c.status === '100') {
    return { state: 'busy', detail: `cluster status 100${actions.length ? ` (${actions.join(', ')})` : ''}` };
  }
  if (c.status !== '200') return { state: 'failed', detail: `cluster status ${c.status}` };
  if (actions.length > 0) return { state: 'busy', detail: `actions pending: ${actions.join(', ')}` };
  if (instances.length === 0) return { state: 'busy', detail: 'no instances reported yet' };
  const bad = instances.filter((i) => i.status !== '200');
  if (bad.some((i) => i.status === '303'))
    return { state: 'failed', detail: 'an instance is unavailable (303)' };
  if (bad.length > 0) return { state: 'busy', detail: `${bad.length} instance(s) not yet available` };
  return { state: 'ready' };
}

/** The Huawei Cloud and OTC CSS providers differ only in id and region table. */
export function createCssProvider(cloud: CssCloud, deps: ProviderDeps): Provider {
  const id = cloud.id;
  const regionNames = Object.keys(cloud.regions);

  const baseUrl = (target: TargetConfig): string => {
    if (target.endpoint) return target.endpoint.replace(/\/+$/, '');
    const url = cloud.regions[target.region];
    if (!url)
      throw new Error(
        `region '${target.region}' is not known to ${id}: must be one of: ${regionNames.join(', ')}`,
      );
    return url;
  };

  const fail = (operation: 'reset' | 'status', c: Classified, secrets: string[] = []) =>
    new ProviderError({
      ...c,
      provider: id,
      operation,
      vendorMessage: c.vendorMessage === undefined ? undefined : scrubberOf(secrets).scrub(c.vendorMessage),
    });

  const ids = (target: ProviderTarget) => {
    const { projectId, clusterId } = target.config;
    if (!projectId || !clusterId) {
      throw new ProviderError({
        kind: 'bad-request',
        provider: id,
        operation: 'status',
        detail: 'target needs projectId and clusterId',
      });
    }
    return { projectId, clusterId };
  };

  async function call(
    operation: 'reset' | 'status',
    target: ProviderTarget,
    method: 'GET' | 'POST',
    path: string,
    body: Uint8Array,
    opts?: CallOptions,
  ): Promise<HttpAnswer> {
    const { projectId } = ids(target);
    const url = `${baseUrl(target.config)}${path}`;
    const headers = signCssRequest({ method, url, projectId, body }, target.credentials, deps.clock.now());
    if (!headers) {
      throw new ProviderError({
        kind: 'auth',
        provider: id,
        operation,
        detail: 'no access key + secret key or token resolved',
      });
    }
    return send(
      { provider: id, operation, method, url, headers, ...(method === 'POST' ? { body } : {}) },
      deps,
      opts,
    );
  }

  return {
    id,
    policy: PROVIDER_POLICIES[id],
    defaultUsername: 'admin',
    baseUrl,
    validateTarget(target) {
      if (target.endpoint || cloud.regions[target.region]) return [];
      return [
        {
          path: ['region'],
          message: `unknown region '${target.region}' for ${id}: must be one of: ${regionNames.join(', ')} (or set endpoint)`,
        },
      ];
    },
    async reset(target, password, opts): Promise<ResetResult> {
      const { projectId, clusterId } = ids(target);
      const body = Buffer.from(JSON.stringify({ newpassword: password }), 'utf8');
      const path = `/v1.0/${encodeURIComponent(projectId)}/clusters/${encodeURIComponent(clusterId)}/password/reset`;
      const a = await call('reset', target, 'POST', path, body, opts);
      const facts = { ...a, nowMs: deps.clock.now() };
      if (a.status >= 200 && a.status < 300) {
        // A 2xx that carries an error code (202 CSS.0011) was not applied.
        const refused = classifyCssSuccess(facts);
        if (refused) throw fail('reset', refused, [password]);
        const requestId = a.headers['x-request-id'];
        return requestId ? { status: a.status, requestId } : { status: a.status };
      }
      throw fail('reset', classifyCssFailure(facts), [password]);
    },
    async status(target, opts): Promise<ClusterStatus> {
      const { projectId, clusterId } = ids(target);
      const path = `/v1.0/${encodeURIComponent(projectId)}/clusters/${encodeURIComponent(clusterId)}`;
      const a = await call('status', target, 'GET', path, new Uint8Array(), opts);
      const facts = { ...a, nowMs: deps.clock.now() };
      if (a.status < 200 || a.status >= 300) throw fail('status', classifyCssFailure(facts));
      const refused = classifyCssSuccess(facts);
      if (refused) throw fail('status', refused);
      const requestId = a.headers['x-request-id'];
      let json: unknown;
      try {
        json = JSON.parse(a.text);
      } catch {
        throw fail('status', { kind: 'bad-response', status: a.status, ...(requestId ? { requestId } : {}) });
      }
      const parsed = cssClusterSchema.safeParse(json);
      if (!parsed.success) {
        throw new ProviderError({
          kind: 'bad-response',
          provider: id,
          operation: 'status',
          status: a.status,
          requestId,
          detail: 'cluster document without a status',
        });
      }
      const state: ClusterStatus = cssClusterState(parsed.data);
      // Only a security-mode cluster has an `admin` password to reset; say so when the cloud does.
      if (typeof parsed.data.authorityEnable === 'boolean') state.securityMode = parsed.data.authorityEnable;
      return requestId ? { ...state, requestId } : state;
    },
  } satisfies Provider;
}
