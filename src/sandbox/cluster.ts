import type { ProviderId } from '../config/provider-ids.js';
import type { SandboxFault } from './faults.js';

/** What the sandbox needs to know about one simulated cluster. */
export interface SandboxClusterSpec {
  provider: ProviderId;
  /** Unique name in the sandbox (data-plane URL, logs). Default: clusterId (CSS) or `ncp-<no>` (NCP). */
  key?: string;
  /** CSS (Huawei/OTC): the path ids. */
  projectId?: string;
  clusterId?: string;
  /** NCP: the cluster number and the API prefix after `/api/` (default `v1`; e.g. `sgn-v1`). */
  serviceGroupInstanceNo?: string;
  apiPrefix?: string;
  /** The account that owns the cluster: requests must be signed with this pair. */
  accessKey: string;
  secretKey: string;
  /** CSS only: IAM tokens (`X-Auth-Token`) accepted for this cluster. */
  tokens?: string[];
  /** The current password at start. */
  password: string;
  /**
   * Data-plane user name. CSS: default `admin`. NCP: the cluster's manager user, chosen at creation
   * and reported by getClusterInfoList as `kafkaManagerUserName`: 3-15 lower-case letters, not
   * `admin`; default derived from the cluster number (e.g. `mgrbaajbcd` for 1009123).
   */
  username?: string;
  /** CSS only: security mode (`authorityEnable`, default true). Off: the reset is refused. */
  authorityEnable?: boolean;
  /** How long the cluster stays busy after a reset, ms (default: the sandbox's). */
  busyMs?: number;
  /** Extra delay before each answer for this cluster, ms (default: the sandbox's). */
  latencyMs?: number;
  /**
   * How long an accepted reset takes to reach the data plane, ms (default 0). Meanwhile the
   * data-plane login keeps accepting the old password and refuses the new one, like a real cluster
   * that applies the change asynchronously (the status API may already say ready).
   */
  applyDelayMs?: number;
}

export const NCP_API_PREFIXES = ['v1', 'sgn-v1', 'jpn-v1', 'krs-v1'] as const;

/** An NCP manager user name as CDSS allows it: 3-15 lower-case letters. */
export const NCP_MANAGER_USER_PATTERN = /^[a-z]{3,15}$/;

/** The default NCP manager user of a cluster: `mgr` and its number's digits as letters (0 → a). */
export function defaultNcpManagerUser(serviceGroupInstanceNo: string): string {
  const letters = [...serviceGroupInstanceNo].map((d) => String.fromCharCode(97 + Number(d))).join('');
  return `mgr${letters}`.slice(0, 15);
}

/** Live state of one cluster. Tests read and steer it; the server mutates it. */
export class SandboxCluster {
  readonly key: string;
  readonly provider: ProviderId;
  readonly spec: Readonly<SandboxClusterSpec>;
  readonly username: string;
  /** `GET` with HTTP basic auth: 200 for the password the data plane has, 401 otherwise. */
  readonly dataPlaneUrl: string;

  #password: string;
  /** What the data plane accepts until `#appliedAt` (the password before a reset still applying). */
  #loginPassword: string;
  #appliedAt = 0;
  readonly #history: string[];
  readonly #faults: SandboxFault[] = [];
  #busyMs: number | undefined;
  #latencyMs: number | undefined;
  busyUntil = 0;
  /** `failed`: status reports the cluster unavailable (CSS 303 / NCP error). */
  lifecycle: 'normal' | 'failed' = 'normal';
  /** Resets accepted (applied). */
  resetsApplied = 0;
  /** Reset requests that arrived while the cluster was busy or another reset was in flight. */
  overlaps = 0;
  inFlightResets = 0;
  maxConcurrentResets = 0;

  constructor(spec: SandboxClusterSpec, key: string, dataPlaneUrl: string) {
    this.spec = { ...spec };
    this.key = key;
    this.provider = spec.provider;
    this.username =
      spec.username ??
      (spec.provider === 'ncp-cdss' ? defaultNcpManagerUser(spec.serviceGroupInstanceNo ?? '') : 'admin');
    this.dataPlaneUrl = dataPlaneUrl;
    this.#password = spec.password;
    this.#loginPassword = spec.password;
    this.#history = [spec.password];
    this.#busyMs = spec.busyMs;
    this.#latencyMs = spec.latencyMs;
  }

  /** The cluster's password: the last one set (the data plane may lag, see `applyDelayMs`). */
  get password(): string {
    return this.#password;
  }

  /** The password the data-plane login accepts at `nowMs`. */
  loginPassword(nowMs: number): string {
    return nowMs < this.#appliedAt ? this.#loginPassword : this.#password;
  }

  /** Every password the cluster has had, oldest first (the initial one included). */
  get history(): readonly string[] {
    return [...this.#history];
  }

  /** Queues faults; each is consumed by the next matching call. */
  pushFault(...faults: SandboxFault[]): this {
    for (const f of faults) {
      if (f.type === 'result-null' && this.provider !== 'ncp-cdss') {
        throw new Error(
          `fault result-null applies to ncp-cdss only, not ${this.provider} (cluster '${this.key}')`,
        );
      }
      if (f.type === 'busy202' && this.provider === 'ncp-cdss') {
        throw new Error(`fault busy202 applies to huaweicloud-css and otc-css only (cluster '${this.key}')`);
      }
      this.#faults.push(f.type === 'busy' || f.type === 'busy202' ? { ...f, times: f.times ?? 1 } : { ...f });
    }
    return this;
  }

  clearFaults(): this {
    this.#faults.length = 0;
    return this;
  }

  get pendingFaults(): readonly SandboxFault[] {
    return [...this.#faults];
  }

  /** @internal The head fault if it applies to `op`, consumed. */
  takeFault(op: 'reset' | 'status'): SandboxFault | undefined {
    const head = this.#faults[0];
    if (!head) return undefined;
    const headOp = 'op' in head && head.op ? head.op : 'reset';
    if (headOp !== op) return undefined;
    if ((head.type === 'busy' || head.type === 'busy202') && (head.times ?? 1) > 1) {
      this.#faults[0] = { ...head, times: (head.times ?? 1) - 1 };
      return head;
    }
    this.#faults.shift();
    return head;
  }

  busyMs(fallback: number): number {
    return this.#busyMs ?? fallback;
  }

  latencyMs(fallback: number): number {
    return this.#latencyMs ?? fallback;
  }

  setBusyMs(ms: number | undefined): this {
    this.#busyMs = ms;
    return this;
  }

  setLatency(ms: number | undefined): this {
    this.#latencyMs = ms;
    return this;
  }

  isBusy(nowMs: number): boolean {
    return this.busyUntil > nowMs;
  }

  /** Sets the password directly (out of band, like an operator in the console): applied at once. */
  setPassword(password: string): this {
    this.#password = password;
    this.#loginPassword = password;
    this.#appliedAt = 0;
    this.#history.push(password);
    return this;
  }

  /** @internal Applies an accepted reset; the data plane gets it `applyDelayMs` later. */
  apply(password: string, nowMs: number, busyMs: number): void {
    const before = this.loginPassword(nowMs);
    this.setPassword(password);
    const delay = this.spec.applyDelayMs ?? 0;
    if (delay > 0) {
      this.#loginPassword = before;
      this.#appliedAt = nowMs + delay;
    }
    this.resetsApplied += 1;
    this.busyUntil = Math.max(this.busyUntil, nowMs + busyMs);
  }

  /** A snapshot for assertions and printing: never the password. */
  stats(): {
    key: string;
    provider: ProviderId;
    resetsApplied: number;
    overlaps: number;
    maxConcurrentResets: number;
    passwordVersions: number;
  } {
    return {
      key: this.key,
      provider: this.provider,
      resetsApplied: this.resetsApplied,
      overlaps: this.overlaps,
      maxConcurrentResets: this.maxConcurrentResets,
      passwordVersions: this.#history.length,
    };
  }

  /** Keeps the password out of console.log / JSON of the cluster. */
  toJSON(): ReturnType<SandboxCluster['stats']> {
    return this.stats();
  }
}
