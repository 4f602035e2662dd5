import type { RotationTiming } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { PasswordPolicy } from '../policy/types.js';
import type { ErrorKind } from '../providers/errors.js';
import type { Provider, ProviderTarget } from '../providers/types.js';
import type { SecretStore } from '../secrets/types.js';

/** The steps of one rotation, in order (rotation-protocol.md). `verify` runs only with a data-plane check. */
export const ROTATION_STEPS = ['stage', 'ready', 'apply', 'settle', 'verify', 'promote'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export type StepOutcome = 'ok' | 'skipped' | 'reused' | 'failed';

/** What one step did. Never holds a password. */
export interface StepEvent {
  rotationId: string;
  targetId: string;
  step: RotationStep;
  outcome: StepOutcome;
  /** Epoch ms when the step started. */
  startedAt: number;
  durationMs: number;
  /** Version id (ClientRequestToken) of the secret version this step worked on. */
  versionId?: string;
  httpStatus?: number;
  vendorCode?: string;
  requestId?: string;
  errorKind?: RotationErrorKind;
  /** Short human text, e.g. 'cluster busy: status 100'. Never a secret. */
  detail?: string;
}

/**
 * Why a rotation stopped. Provider kinds pass through; the rest are the core's own:
 * - ready-timeout / settle-timeout: the cluster did not become available in time.
 * - cluster-failed: the cluster reports a state in which it cannot take operations.
 * - verify-failed: the data-plane login refused the new password after the reset was accepted.
 * - rejections-exhausted: the cloud rejected maxPasswordRejections fresh passwords.
 * - store: the secret store failed (nothing was applied, or the pending version is kept).
 * - policy: no compliant password could be generated.
 * - secret-unreadable: the secret's value is not readable in its configured format (secret.format).
 * - aborted: the caller's signal fired (shutdown); re-run to continue.
 * - internal: a hook (onStep, registerSecret) or an unexpected exception failed; re-run to continue.
 * - conflict: promote was refused because another writer moved the labels (see ConflictResolution).
 */
export type RotationErrorKind =
  | ErrorKind
  | 'ready-timeout'
  | 'settle-timeout'
  | 'cluster-failed'
  | 'verify-failed'
  | 'rejections-exhausted'
  | 'store'
  | 'policy'
  | 'secret-unreadable'
  | 'aborted'
  | 'internal'
  | 'conflict';

/**
 * How a run settled a promote that another writer got in the way of (kind `conflict`):
 * - store-matches: the store's current is the password the cluster holds; nothing to do;
 * - promoted: the cluster holds this run's password, promoted over the other writer's;
 * - fresh-rotation: undecided; a fresh rotation must re-apply the store's pending value (or a new one).
 */
export type ConflictResolution = 'store-matches' | 'promoted' | 'fresh-rotation';

/** Data-plane login check (the test step): resolves true when the password is accepted. */
export type LoginCheck = (password: string, signal?: AbortSignal) => Promise<boolean>;

export interface RotationDeps {
  provider: Provider;
  store: SecretStore;
  clock: Clock;
  /** Generates a password that satisfies `policy` (bounded retries inside). */
  generatePassword: (policy: PasswordPolicy) => string;
  /** Told about every password the rotation handles, so loggers can scrub it by value. */
  registerSecret?: (value: string) => void;
  /** Called after every step, awaited before the rotation moves on (job log, audit trail). */
  onStep?: (event: StepEvent) => Promise<void> | void;
  /** Data-plane login, when the target configures one. */
  loginCheck?: LoginCheck;
  signal?: AbortSignal;
  /**
   * Another writer's pending version younger than this (ms, by its creation date) makes the target
   * busy; an older one is orphaned and adopted. Undefined: adopted at once.
   */
  pendingOrphanAfterMs?: number;
}

export interface RotationRequest {
  target: ProviderTarget;
  /** Stable across every retry of one rotation (e.g. the BullMQ job id). */
  rotationId: string;
  /** The effective policy (provider's, narrowed by the target's config). */
  policy: PasswordPolicy;
  timing: RotationTiming;
}

export interface RotationResult {
  rotationId: string;
  targetId: string;
  /** The version now AWSCURRENT. */
  versionId: string;
  /** True when this run found the rotation already promoted and did nothing. */
  alreadyDone: boolean;
  steps: StepEvent[];
  /** Promote met another writer and the run settled it this way (the caller alerts). */
  conflict?: { resolution: Exclude<ConflictResolution, 'fresh-rotation'>; detail: string };
}
