import type { ProviderId } from '../src/config/provider-ids.js';
import type { SandboxClusterSpec } from '../src/sandbox/index.js';

/** One account for the whole fleet, so a config file can name it with one pair of env refs. */
export const FLEET_ACCESS_KEY = 'BENCH-FLEET-AK';
export const FLEET_SECRET_KEY = 'bench-fleet-secret-key';
export const FLEET_INITIAL_PASSWORD = 'Initial-Pass1';

const PROVIDERS: readonly ProviderId[] = ['huaweicloud-css', 'otc-css', 'ncp-cdss'];

/** Deterministic specs of `n` clusters, spread over the three clouds in turn. */
export function fleetSpecs(n: number): SandboxClusterSpec[] {
  const specs: SandboxClusterSpec[] = [];
  for (let i = 0; i < n; i++) {
    const provider = PROVIDERS[i % PROVIDERS.length]!;
    const common = {
      provider,
      key: `bench-${i}`,
      accessKey: FLEET_ACCESS_KEY,
      secretKey: FLEET_SECRET_KEY,
      password: FLEET_INITIAL_PASSWORD,
    };
    specs.push(
      provider === 'ncp-cdss'
        ? { ...common, serviceGroupInstanceNo: String(1_000_000 + i) }
        : {
            ...common,
            projectId: provider === 'otc-css' ? 'benchotcproject' : 'benchhuaweiproject',
            clusterId: `bench-cluster-${i}`,
          },
    );
  }
  return specs;
}

/** Operations counted per rotation from the sandbox's request log. */
export interface CallCounts {
  reset: number;
  status: number;
  dataplane: number;
  other: number;
  /** Reset and status calls per cloud (each cloud is one account in the fleet). */
  perProvider: Record<string, number>;
}

export function countCalls(entries: readonly { operation: string; provider?: string }[]): CallCounts {
  const c: CallCounts = { reset: 0, status: 0, dataplane: 0, other: 0, perProvider: {} };
  for (const e of entries) {
    if (e.operation === 'reset' || e.operation === 'status' || e.operation === 'dataplane')
      c[e.operation] += 1;
    else c.other += 1;
    if ((e.operation === 'reset' || e.operation === 'status') && e.provider) {
      c.perProvider[e.provider] = (c.perProvider[e.provider] ?? 0) + 1;
    }
  }
  return c;
}
