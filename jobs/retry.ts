import type { TargetConfig } from '../src/config/schema.js';
import type { RotationErrorKind, RotationStep } from '../src/rotation/types.js';
import type { Alert } from '../src/worker/types.js';
import type { RotateJobData } from './definitions.js';

export type StopReason = Alert['reason'];

/** The plain fields of a RotationError that alerts carry. */
export interface RotationFailureFacts {
  kind: RotationErrorKind;
  step: RotationStep;
  rotationId: string;
  pendingMayBeApplied: boolean;
  httpStatus?: number | undefined;
  vendorCode?: string | undefined;
  requestId?: string | undefined;
  versionId?: string | undefined;
  detail?: string | undefined;
}

/** What to do after one failed run of a rotation. */
export type RetryDecision =
  | {
      action: 'retry';
      delayMs: number;
      /** Counters to store in the job data for the next run. */
      counters: Pick<RotateJobData, 'failures' | 'busySince' | 'rejections'>;
      /** Short text for the job log. */
      reason: string;
    }
  | { action: 'stop'; alert: StopReason; reason: string };

const SEVERITY: Record<StopReason, Alert['severity']> = {
  'final-failure': 'critical',
  precondition: 'critical',
  'busy-budget-spent': 'warning',
  auth: 'critical',
  'rejections-exhausted': 'critical',
  'pending-may-be-applied': 'critical',
  overdue: 'warning',
  'not-found': 'critical',
  'bad-request': 'critical',
  'cluster-failed': 'critical',
};

const SUMMARY: Record<StopReason, string> = {
  'final-failure': 'rotation failed after its retries',
  precondition: 'the cloud refused the reset with 412 (precondition failed)',
  'busy-budget-spent': 'the cluster stayed busy longer than the busy budget',
  auth: 'the cloud refused the credentials (401/403)',
  'rejections-exhausted': 'the cloud rejected every freshly generated password',
  'pending-may-be-applied': 'a pending secret version is left that the cloud may already hold',
  overdue: 'the last successful rotation is older than the schedule allows',
  'not-found': 'the cloud says the cluster does not exist',
  'bad-request': 'the cloud refused the request as malformed',
  'cluster-failed': 'the cluster is in a state where it cannot take operations',
};

/** The alerts of a rotation that stopped for good: the stop reason, plus the pending warning. */
export function alertsForStop(
  error: RotationFailureFacts,
  decision: Extract<RetryDecision, { action: 'stop' }>,
  target: TargetConfig,
  data: RotateJobData,
  now: number,
): Alert[] {
  const details: Alert['details'] = {
    kind: error.kind,
    step: error.step,
    attempts: data.attempt,
    httpStatus: error.httpStatus,
    vendorCode: error.vendorCode,
    requestId: error.requestId,
    versionId: error.versionId,
    secretId: target.secret.id,
    detail: error.detail,
    trigger: data.trigger,
    actor: data.actor,
  };
  const make = (reason: StopReason): Alert => ({
    key: `${target.id}:${reason}`,
    severity: SEVERITY[reason],
    reason,
    targetId: target.id,
    provider: target.provider,
    rotationId: error.rotationId,
    summary: `${target.id}: ${SUMMARY[reason]} (${decision.reason})`,
    details,
    at: now,
  });
  const alerts = [make(decision.alert)];
  if (error.pendingMayBeApplied && decision.alert !== 'pending-may-be-applied') {
    alerts.push(make('pending-may-be-applied'));
  }
  return alerts;
}

export { SEVERITY as ALERT_SEVERITY, SUMMARY as ALERT_SUMMARY };
