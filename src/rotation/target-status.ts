import type { RotationErrorKind } from './types.js';

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
