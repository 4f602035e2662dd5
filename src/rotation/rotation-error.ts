import type { ConflictResolution, RotationErrorKind, RotationStep, StepEvent } from './types.js';

export interface RotationErrorDetails {
  kind: RotationErrorKind;
  /** The step that failed. */
  step: RotationStep;
  rotationId: string;
  targetId: string;
  /** Every step event of this run, the failed one last. */
  steps: StepEvent[];
  /** The version (token) this run worked on, when it got that far. */
  versionId?: string | undefined;
  generation?: number | undefined;
  /**
   * True when a pending version exists that the cloud may already hold (a reset was sent, or a
   * previous run may have sent one). It is never dropped in that state: the caller must alert
   * "a pending version is left that the cloud may hold" if it stops retrying.
   */
  pendingMayBeApplied: boolean;
  /**
   * False when the run failed before it could read the store's versions (the store was down, or
   * the run was aborted first): it cannot know whether a pending version is left, so
   * pendingMayBeApplied is false for want of knowledge, not because there is none.
   */
  storeStateKnown: boolean;
  httpStatus?: number | undefined;
  vendorCode?: string | undefined;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  /** Kind `conflict`: what the run did about it, or what the caller must do. */
  conflictResolution?: ConflictResolution | undefined;
  /** Short human text; never a secret. */
  detail?: string | undefined;
  /** Already scrubbed of every password the rotation handled. */
  cause?: unknown;
}

export interface RotationErrorJSON extends Omit<RotationErrorDetails, 'cause'> {
  name: 'RotationError';
  message: string;
  cause?: { name: string; message: string } | undefined;
}

/** Why one run of rotate() stopped. Its message and fields are built from plain data, never a password. */
export class RotationError extends Error {
  override name = 'RotationError' as const;
  readonly kind: RotationErrorKind;
  readonly step: RotationStep;
  readonly rotationId: string;
  readonly targetId: string;
  readonly steps: StepEvent[];
  readonly versionId: string | undefined;
  readonly generation: number | undefined;
  readonly pendingMayBeApplied: boolean;
  readonly storeStateKnown: boolean;
  readonly httpStatus: number | undefined;
  readonly vendorCode: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly conflictResolution: ConflictResolution | undefined;
  readonly detail: string | undefined;

  constructor(d: RotationErrorDetails) {
    const parts = [`rotation of ${d.targetId} failed at ${d.step}: ${d.kind}`];
    if (d.detail) parts.push(d.detail);
    if (d.httpStatus !== undefined) parts.push(`HTTP ${d.httpStatus}`);
    if (d.vendorCode) parts.push(`code ${d.vendorCode}`);
    if (d.requestId) parts.push(`request ${d.requestId}`);
    if (d.versionId) parts.push(`version ${d.versionId}`);
    if (d.pendingMayBeApplied) parts.push('a pending version is left that the cloud may hold');
    if (!d.storeStateKnown) parts.push('the store could not be read: a pending version may be left');
    super(parts.join(', '), d.cause === undefined ? undefined : { cause: d.cause });
    this.kind = d.kind;
    this.step = d.step;
    this.rotationId = d.rotationId;
    this.targetId = d.targetId;
    this.steps = d.steps;
    this.versionId = d.versionId;
    this.generation = d.generation;
    this.pendingMayBeApplied = d.pendingMayBeApplied;
    this.storeStateKnown = d.storeStateKnown;
    this.httpStatus = d.httpStatus;
    this.vendorCode = d.vendorCode;
    this.requestId = d.requestId;
    this.retryAfterMs = d.retryAfterMs;
    this.conflictResolution = d.conflictResolution;
    this.detail = d.detail;
  }

  /** Plain fields for job data, logs and the audit trail. */
  toJSON(): RotationErrorJSON {
    const cause = this.cause;
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      step: this.step,
      rotationId: this.rotationId,
      targetId: this.targetId,
      versionId: this.versionId,
      generation: this.generation,
      pendingMayBeApplied: this.pendingMayBeApplied,
      storeStateKnown: this.storeStateKnown,
      httpStatus: this.httpStatus,
      vendorCode: this.vendorCode,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      conflictResolution: this.conflictResolution,
      detail: this.detail,
      steps: this.steps.map((s) => ({ ...s })),
      cause: cause instanceof Error ? { name: cause.name, message: cause.message } : undefined,
    };
  }
}

/** Works across process boundaries (sandboxed processors), where instanceof does not. */
export function isRotationError(err: unknown): err is RotationError {
  return (
    err instanceof RotationError ||
    (err instanceof Error && err.name === 'RotationError' && 'kind' in err && 'pendingMayBeApplied' in err)
  );
}
