import type { TargetConfig } from '../config/schema.js';
import type { ProviderTarget } from '../providers/types.js';
import type { SandboxCluster } from './cluster.js';

export interface SandboxTargetOptions {
  /** CSS only: authenticate with this IAM token instead of AK/SK. */
  token?: string;
  /** Overrides of the generated target config (id, secret, timing...). */
  config?: Partial<TargetConfig>;
}

/**
 * A target pointing at a sandbox cluster: endpoint, ids, data-plane URL and the resolved
 * credentials. The config's credential references are placeholders (`SANDBOX_*` env names): the
 * resolved values come with it.
 */
export function sandboxTarget(
  sandboxUrl: string,
  cluster: SandboxCluster,
  o: SandboxTargetOptions = {},
): ProviderTarget {
  const s = cluster.spec;
  const id =
    cluster.key
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'sandbox';
  const common = {
    id,
    provider: cluster.provider,
    secret: { id: `sandbox/${id}`, username: cluster.username },
    dataPlane: { url: cluster.dataPlaneUrl, username: cluster.username },
    enabled: true,
  };
  const config: TargetConfig =
    cluster.provider === 'ncp-cdss'
      ? {
          ...common,
          site: 'public',
          region: 'KR',
          serviceGroupInstanceNo: s.serviceGroupInstanceNo,
          endpoint: `${sandboxUrl}/api/${s.apiPrefix ?? 'v1'}`,
          credentials: { accessKey: { env: 'SANDBOX_ACCESS_KEY' }, secretKey: { env: 'SANDBOX_SECRET_KEY' } },
          ...o.config,
        }
      : {
          ...common,
          region: 'sandbox',
          projectId: s.projectId,
          clusterId: s.clusterId,
          endpoint: sandboxUrl,
          credentials: o.token
            ? { token: { env: 'SANDBOX_TOKEN' } }
            : { accessKey: { env: 'SANDBOX_ACCESS_KEY' }, secretKey: { env: 'SANDBOX_SECRET_KEY' } },
          ...o.config,
        };
  const credentials = o.token ? { token: o.token } : { accessKey: s.accessKey, secretKey: s.secretKey };
  return { config, credentials };
}
