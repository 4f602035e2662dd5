import type { RotationErrorKind, RotationStep, StepOutcome } from '../rotation/types.js';

export type Trigger = 'schedule' | 'cli' | 'api' | 'demo' | 'queue';

/** Why a request on the `requests` queue was refused (the label of rotator_queue_requests_refused_total). */
export type RequestRefusal = 'invalid-request' | 'unknown-target' | 'disabled-target' | 'unknown-job-name';

/** One line of the audit trail. Never holds a secret. */
export interface AuditEvent {
  /**
   * 'step' for a rotation step; 'rotation-*' frame a rotation attempt. 'rotation-requested' (one per
   * target of an accepted request on the `requests` queue) and 'request-refused' record the requests
   * queue's decisions; they are not part of a rotation's run.
   */
  type:
    | 'rotation-started'
    | 'step'
    | 'rotation-succeeded'
    | 'rotation-failed'
    | 'rotation-retrying'
    | 'alert'
    | 'rotation-requested'
    | 'request-refused';
  /** '' on a refused request (no rotation). */
  rotationId: string;
  /** '' on a refused request that named no (readable) target. */
  targetId: string;
  /** '' when the target is unknown. */
  provider: string;
  trigger: Trigger;
  /** Who asked: 'scheduler', an OS user for the CLI, the API token's name, a queue request's actor. */
  actor: string;
  /** Why, in the requester's words (queue requests' optional `reason`). */
  reason?: string;
  /** The id of the job on the `requests` queue this record is about. */
  request?: string;
  attempt: number;
  step?: RotationStep;
  outcome?: StepOutcome | 'succeeded' | 'failed' | 'retrying' | 'enqueued' | 'joined' | 'refused';
  errorKind?: RotationErrorKind | RequestRefusal;
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
