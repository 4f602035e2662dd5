import type { ProviderId } from '../config/provider-ids.js';
import {
  NCP_API_PREFIXES,
  NCP_MANAGER_USER_PATTERN,
  SandboxCluster,
  type SandboxClusterSpec,
} from './cluster.js';

/**
 * What the sandbox holds between requests: the clusters (each with its queue of scripted faults, see
 * cluster.ts), the accounts that may sign for them, and the request log.
 */

export type SandboxOperation = 'reset' | 'status' | 'dataplane' | 'unknown';

/** One handled request. No password, secret key or token, by construction. */
export interface SandboxLogEntry {
  time: number;
  provider?: ProviderId;
  cluster?: string;
  /** The access key that signed it, `token` for IAM-token calls. */
  accessKey?: string;
  operation: SandboxOperation;
  /** HTTP status answered; 0 when the connection was dropped or left hanging. */
  status: number;
  /** `ok`, `busy CSS.0011`, `auth skew`, `password-rejected CSS.2026`, `fault hang`... */
  outcome: string;
}

/** The clusters, indexed the ways the routes look them up, and the keys that sign for them. */
export class ClusterRegistry {
  readonly #byKey = new Map<string, SandboxCluster>();
  /** CSS (Huawei/OTC) by `projectId/clusterId`. */
  readonly #cssByPath = new Map<string, SandboxCluster>();
  /** NCP by serviceGroupInstanceNo. */
  readonly #ncpByNo = new Map<string, SandboxCluster>();
  /** Secret key by access key, per signing scheme. */
  readonly #cssSecrets = new Map<string, string>();
  readonly #ncpSecrets = new Map<string, string>();
  readonly #knownTokens = new Set<string>();
  /** `http://host:port` of the sandbox, for each cluster's data-plane URL; set once it listens. */
  baseUrl = '';

  /** Checks the spec and adds the cluster; throws naming the cluster and the field. */
  add(spec: SandboxClusterSpec): SandboxCluster {
    const where = `sandbox cluster${spec.key ? ` '${spec.key}'` : ''}`;
    if (!spec.accessKey || !spec.secretKey) throw new Error(`${where}: accessKey and secretKey are required`);
    if (typeof spec.password !== 'string' || spec.password === '')
      throw new Error(`${where}: password is required`);
    if (spec.provider === 'ncp-cdss' && spec.username !== undefined) {
      if (!NCP_MANAGER_USER_PATTERN.test(spec.username) || spec.username === 'admin')
        throw new Error(
          `${where}: username (the NCP manager user) must be 3-15 lower-case letters, not admin`,
        );
    }
    if (spec.provider === 'ncp-cdss' && spec.authorityEnable !== undefined)
      throw new Error(`${where}: authorityEnable applies to huaweicloud-css and otc-css only`);
    const d = spec.applyDelayMs;
    if (d !== undefined && !(Number.isFinite(d) && d >= 0))
      throw new Error(`${where}: applyDelayMs must be a number of ms >= 0, got ${String(d)}`);
    let key: string;
    let routeKey: string;
    const secrets = spec.provider === 'ncp-cdss' ? this.#ncpSecrets : this.#cssSecrets;
    if (spec.provider === 'ncp-cdss') {
      if (!spec.serviceGroupInstanceNo || !/^\d+$/.test(spec.serviceGroupInstanceNo)) {
        throw new Error(`${where}: serviceGroupInstanceNo (digits) is required for ncp-cdss`);
      }
      if (spec.apiPrefix && !(NCP_API_PREFIXES as readonly string[]).includes(spec.apiPrefix)) {
        throw new Error(`${where}: apiPrefix must be one of: ${NCP_API_PREFIXES.join(', ')}`);
      }
      key = spec.key ?? `ncp-${spec.serviceGroupInstanceNo}`;
      routeKey = spec.serviceGroupInstanceNo;
      if (this.#ncpByNo.has(routeKey))
        throw new Error(`${where}: serviceGroupInstanceNo ${routeKey} is already used`);
    } else if (spec.provider === 'huaweicloud-css' || spec.provider === 'otc-css') {
      if (!spec.projectId || !spec.clusterId)
        throw new Error(`${where}: projectId and clusterId are required for ${spec.provider}`);
      key = spec.key ?? spec.clusterId;
      routeKey = `${spec.projectId}/${spec.clusterId}`;
      if (this.#cssByPath.has(routeKey))
        throw new Error(`${where}: project ${spec.projectId} already has cluster ${spec.clusterId}`);
    } else {
      throw new Error(`${where}: provider must be one of: ncp-cdss, huaweicloud-css, otc-css`);
    }
    if (this.#byKey.has(key)) throw new Error(`sandbox cluster '${key}' already exists`);
    const known = secrets.get(spec.accessKey);
    if (known !== undefined && known !== spec.secretKey) {
      throw new Error(
        `${where}: access key ${spec.accessKey} is already registered with a different secret key`,
      );
    }
    secrets.set(spec.accessKey, spec.secretKey);
    for (const t of spec.tokens ?? []) this.#knownTokens.add(t);
    const cluster = new SandboxCluster(spec, key, `${this.baseUrl}/_dataplane/${encodeURIComponent(key)}`);
    this.#byKey.set(key, cluster);
    (spec.provider === 'ncp-cdss' ? this.#ncpByNo : this.#cssByPath).set(routeKey, cluster);
    return cluster;
  }

  byKey(key: string): SandboxCluster | undefined {
    return this.#byKey.get(key);
  }

  list(): SandboxCluster[] {
    return [...this.#byKey.values()];
  }

  get size(): number {
    return this.#byKey.size;
  }

  css(projectId: string, clusterId: string): SandboxCluster | undefined {
    return this.#cssByPath.get(`${projectId}/${clusterId}`);
  }

  ncp(serviceGroupInstanceNo: string): SandboxCluster | undefined {
    return this.#ncpByNo.get(serviceGroupInstanceNo);
  }

  cssSecretKey(accessKey: string): string | undefined {
    return this.#cssSecrets.get(accessKey);
  }

  ncpSecretKey(accessKey: string): string | undefined {
    return this.#ncpSecrets.get(accessKey);
  }

  /** Whether any CSS cluster accepts this IAM token. */
  isKnownToken(token: string): boolean {
    return this.#knownTokens.has(token);
  }
}

/** The request log, oldest first; past `max` entries the older half is dropped. */
export class RequestLog {
  #entries: SandboxLogEntry[] = [];

  constructor(
    private readonly max: number,
    private readonly onRequest?: (entry: SandboxLogEntry) => void,
  ) {}

  record(entry: SandboxLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.max)
      this.#entries = this.#entries.slice(this.#entries.length - Math.floor(this.max / 2));
    this.onRequest?.(entry);
  }

  entries(): readonly SandboxLogEntry[] {
    return this.#entries;
  }

  clear(): void {
    this.#entries = [];
  }
}
