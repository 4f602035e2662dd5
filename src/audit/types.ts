import type { RotationErrorKind, RotationStep, StepOutcome } from '../rotation/types.js';

export type Trigger = 'schedule' | 'cli' | 'api' | 'demo';

/** One line of the audit trail. Never holds a secret. */
export interface AuditEvent {
  /** 'step' for a rotation step; the others frame a rotation attempt. */
  type:
    'rotation-started' | 'step' | 'rotation-succeeded' | 'rotation-failed' | 'rotation-retrying' | 'alert';
  rotationId: string;
  targetId: string;
  provider: string;
  trigger: Trigger;
  /** Who asked: 'scheduler', an OS user for the CLI, the API token's name. */
  actor: string;
  attempt: number;
  step?: RotationStep;
  outcome?: StepOutcome | 'succeeded' | 'failed' | 'retrying';
  errorKind?: RotationErrorKind;
  httpStatus?: number;
  vendorCode?: string;
  requestId?: string;
  versionId?: string;
  durationMs?: number;
  detail?: string;
}

/** Appends to the audit trail; resolves once the record is durable. */
export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
  close(): Promise<void>;
}
