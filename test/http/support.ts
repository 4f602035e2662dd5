import type { HttpLogger } from '../../src/http/server.js';
import type { EnqueuedRotation, RotateRequest, RotationControl } from '../../src/queue/control.js';
import type { TargetStatus } from '../../src/rotation/target-status.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

export function memoryLogger(): HttpLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => entries.push({ level: 'error', obj, msg }),
  };
}

export const STATUSES: TargetStatus[] = [
  {
    id: 'cdss-prod',
    provider: 'ncp-cdss',
    secretId: 'prod/cdss',
    schedule: 'cron 0 3 1 * * (UTC)',
    lastSuccessAt: Date.UTC(2026, 0, 1, 3),
    lastOutcome: 'succeeded',
    overdue: false,
  },
  {
    id: 'css-logs',
    provider: 'huaweicloud-css',
    secretId: 'prod/css-logs',
    schedule: 'every 7d',
    lastSuccessAt: Date.UTC(2025, 10, 1),
    lastOutcome: 'failed',
    lastErrorKind: 'precondition',
    overdue: true,
  },
  { id: 'otc-search', provider: 'otc-css', secretId: 'prod/otc', schedule: 'every 30d', overdue: true },
];

/** A RotationControl that records its calls (the real one is the worker's). */
export function recordingControl(
  statuses: TargetStatus[] = STATUSES,
): RotationControl & { calls: RotateRequest[] } {
  const calls: RotateRequest[] = [];
  return {
    calls,
    async rotate(request) {
      calls.push(request);
      const ids = request.targets === 'all' ? statuses.map((s) => s.id) : request.targets;
      return ids.map((targetId, i): EnqueuedRotation => ({
        targetId,
        jobId: `job-${calls.length}-${i}`,
        deduplicated: false,
      }));
    },
    async statuses() {
      return statuses;
    },
  };
}
