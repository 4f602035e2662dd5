import type { TargetConfig } from '../src/config/schema.js';
import { GUESSED_KIND_DETAIL } from '../src/providers/ncp-cdss/classify.js';
import type { RetryAlert } from '../src/rotation/retry-decision.js';
import type { RotationErrorKind, RotationStep } from '../src/rotation/types.js';
import type { Alert } from '../src/alerts/types.js';
import type { RotateJobData } from '../src/queue/definitions.js';

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
  /** The provider error's own detail (e.g. how its kind was decided), when the failure came from one. */
  providerDetail?: string | undefined;
}

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
  'secret-unreadable': 'critical',
  conflict: 'critical',
  'conflict-resolved': 'warning',
};

const SUMMARY: Record<StopReason, string> = {
  'final-failure': 'rotation failed after its retries',
  precondition:
    'a precondition of the reset does not hold (HTTP 412, or the cluster is not in security mode)',
  'busy-budget-spent': 'the cluster stayed busy longer than the busy budget',
  auth: 'the cloud refused the credentials (401/403)',
  'rejections-exhausted': 'the cloud rejected every freshly generated password',
  'pending-may-be-applied': 'a pending secret version is left that the cloud may already hold',
  overdue: 'the last successful rotation is older than the schedule allows',
  'not-found': 'the cloud says the cluster does not exist',
  'bad-request': 'the cloud refused the request as malformed',
  'cluster-failed': 'the cluster is in a state where it cannot take operations',
  'secret-unreadable': 'the secret in the store is not readable in its configured format (secret.format)',
  conflict:
    'another writer changed the secret between stage and promote; the store and the cluster may disagree until it is settled',
  'conflict-resolved': 'another writer changed the secret between stage and promote; settled',
};

/**
 * Every alert the retry decision (src/rotation/retry-decision.ts) can raise is an alert reason with a
 * severity and a text: a reason added there without one here does not compile.
 */
const _retryAlertTexts: Record<RetryAlert, string> = SUMMARY;

/**
 * The alerts of a failed run: `reason`, plus "a pending version is left that the cloud may hold"
 * when the error says so.
 */
export function buildAlerts(
  error: RotationFailureFacts,
  reason: StopReason,
  why: string,
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
    providerDetail:
      error.providerDetail ??
      // NCP's password rejections are always guessed from CDSS's (undocumented) message text; the
      // run that stops on them sends no request, so it has no provider error of its own.
      (target.provider === 'ncp-cdss' && error.kind === 'rejections-exhausted'
        ? GUESSED_KIND_DETAIL
        : undefined),
    trigger: data.trigger,
    actor: data.actor,
  };
  const make = (r: StopReason): Alert => ({
    key: `${target.id}:${r}`,
    severity: SEVERITY[r],
    reason: r,
    targetId: target.id,
    provider: target.provider,
    rotationId: error.rotationId,
    summary: `${target.id}: ${SUMMARY[r]} (${why})`,
    details,
    at: now,
  });
  const alerts = [make(reason)];
  if (error.pendingMayBeApplied && reason !== 'pending-may-be-applied') {
    alerts.push(make('pending-may-be-applied'));
  }
  return alerts;
}

export { SEVERITY as ALERT_SEVERITY, SUMMARY as ALERT_SUMMARY };
