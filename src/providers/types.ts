import type { TargetConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { PasswordPolicy } from '../policy/types.js';
import type { HttpClient } from '../util/http-client.js';
import type { ProviderId } from '../config/provider-ids.js';

/** Credentials after `{ env }` / `{ file }` references were resolved. Never logged. */
export interface ResolvedCredentials {
  accessKey?: string;
  secretKey?: string;
  /** IAM token (Huawei/OTC), instead of AK/SK. */
  token?: string;
}

/** A configured target with its credentials resolved: what a provider call needs. */
export interface ProviderTarget {
  config: TargetConfig;
  credentials: ResolvedCredentials;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the provider's default per-call timeout. */
  timeoutMs?: number;
}

/** What a cloud reports about a cluster beside its state; undefined where it does not say. */
export interface ClusterFacts {
  /** False when the cluster is not in security mode (CSS `authorityEnable: false`): its password cannot be reset. */
  securityMode?: boolean;
  /** The cluster's own manager user where the cloud reports it (NCP `kafkaManagerUserName`). */
  managerUser?: string;
}

/** Can the cluster take an operation now / has the last one settled? */
export type ClusterStatus = ClusterFacts &
  (
    | { state: 'ready'; requestId?: string }
    /** An operation is in progress: keep waiting. */
    | { state: 'busy'; detail: string; requestId?: string }
    /** The cluster cannot take operations (error, deleting, unavailable): stop and alert. */
    | { state: 'failed'; detail: string; requestId?: string }
  );

export interface ResetResult {
  status: number;
  requestId?: string;
}

/** Everything a provider needs from the outside world, injected. */
export interface ProviderDeps {
  /** The global fetch, or the worker's keep-alive client (src/util/http-client.ts). */
  fetch: HttpClient;
  clock: Clock;
  /** Default timeout of one call, in ms. */
  timeoutMs: number;
}

export interface Provider {
  readonly id: ProviderId;
  /** The cloud's password rules, before any per-target narrowing. */
  readonly policy: PasswordPolicy;
  /** Username stored beside the password when the target does not name one. */
  readonly defaultUsername: string;
  /** Base URL for the target: from the site/region tables, or the target's `endpoint`. */
  baseUrl(target: TargetConfig): string;
  /** Config problems this provider sees in a target (unknown region...), as `field: message` pairs. */
  validateTarget(target: TargetConfig): { path: (string | number)[]; message: string }[];
  /** Calls the reset-password API. Throws ProviderError. */
  reset(target: ProviderTarget, password: string, opts?: CallOptions): Promise<ResetResult>;
  /** Reads the cluster's lifecycle state. Throws ProviderError. */
  status(target: ProviderTarget, opts?: CallOptions): Promise<ClusterStatus>;
}

export type ProviderFactory = (deps: ProviderDeps) => Provider;
