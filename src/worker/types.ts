import type { Trigger } from '../audit/types.js';
import type { RequestPriority } from '../requests/contract.js';
import type { RotationErrorKind } from '../rotation/types.js';

/** What `rotator status`, GET /api/targets and the metrics show per target. Never a secret. */
export interface TargetStatus {
  id: string;
  provider: string;
  secretId: string;
  /** Human form, e.g. 'cron 0 3 1 * * (UTC)' or 'every 7d'. */
  schedule: string;
  /** Epoch ms of the next scheduled run, if a scheduler exists. */
  nextRunAt?: number;
  /** Epoch ms of the last successful rotation. */
  lastSuccessAt?: number;
  lastOutcome?: 'succeeded' | 'failed' | 'retrying' | 'running' | 'waiting';
  lastErrorKind?: RotationErrorKind;
  lastFinishedAt?: number;
  /** True when the last success is older than the schedule allows (plus grace). */
  overdue: boolean;
}

export interface RotateRequest {
  /** Target ids, or 'all'. */
  targets: string[] | 'all';
  trigger: Trigger;
  actor: string;
  /** Why, in the requester's words. */
  reason?: string;
  /** Default 'normal'; 'urgent' goes ahead of every normal rotation waiting. */
  priority?: RequestPriority;
}

export interface EnqueuedRotation {
  targetId: string;
  jobId: string;
  /** True when a rotation of this target was already waiting or running and this request joined it. */
  deduplicated: boolean;
}

/** The worker-side operations the HTTP API and the CLI call. */
export interface RotationControl {
  rotate(request: RotateRequest): Promise<EnqueuedRotation[]>;
  statuses(): Promise<TargetStatus[]>;
}

/** Where an alert goes; the log sink always exists. */
export interface Alert {
  /** Stable key for folding repeats, e.g. `${targetId}:${reason}`. */
  key: string;
  severity: 'critical' | 'warning';
  reason:
    | 'final-failure'
    | 'precondition'
    | 'busy-budget-spent'
    | 'auth'
    | 'rejections-exhausted'
    | 'pending-may-be-applied'
    | 'overdue'
    | 'not-found'
    | 'bad-request'
    | 'cluster-failed'
    | 'secret-unreadable'
    | 'conflict'
    | 'conflict-resolved';
  targetId: string;
  provider?: string;
  rotationId?: string;
  summary: string;
  /** Plain non-secret fields: kind, HTTP status, vendor code, request id, version id... */
  details: Record<string, string | number | boolean | undefined>;
  at: number;
}

export interface AlertSink {
  readonly name: string;
  send(alert: Alert): Promise<void>;
}
