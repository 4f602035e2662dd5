import type { AuditRecord } from './record.js';
import type { Trigger } from './types.js';

export type RotationOutcome = 'succeeded' | 'failed' | 'running';

/** One rotation (all records sharing a rotationId), as `rotator audit` shows it. */
export interface RotationSummary {
  rotationId: string;
  targetId: string;
  provider: string;
  trigger: Trigger;
  actor: string;
  /** Why, in the requester's words (queue requests). */
  reason?: string;
  /** ISO time of the first record. */
  startedAt: string;
  /** ISO time of the final record (succeeded/failed); absent while running. */
  endedAt?: string;
  attempts: number;
  outcome: RotationOutcome;
  /** Kind of the last error seen, if any. */
  errorKind?: string;
  /** Distinct values in order of first appearance. */
  httpStatuses: number[];
  vendorCodes: string[];
  requestIds: string[];
  versionIds: string[];
  /** Job log lines, when the job still exists in the queue. */
  jobLog?: string[];
}

/** Looks up the BullMQ job log of a rotation; undefined when the job is gone. Supplied by the worker. */
export type JobLogLookup = (rotationId: string, targetId: string) => Promise<string[] | undefined>;

export interface HistoryFilter {
  /** Epoch ms: rotations that ended before this are left out. */
  since?: number;
  /** Epoch ms: rotations that started after this are left out. */
  until?: number;
  targetId?: string;
}

/** Pure: groups records per rotation, in order of start. */
export function buildRotationHistory(
  records: readonly AuditRecord[],
  filter: HistoryFilter = {},
): RotationSummary[] {
  const byId = new Map<string, RotationSummary>();
  for (const r of records) {
    // the requests queue's decisions: not part of a rotation's run
    if (r.type === 'rotation-requested' || r.type === 'request-refused') continue;
    let s = byId.get(r.rotationId);
    if (!s) {
      s = {
        rotationId: r.rotationId,
        targetId: r.targetId,
        provider: r.provider,
        trigger: r.trigger,
        actor: r.actor,
        startedAt: r.ts,
        attempts: r.attempt,
        outcome: 'running',
        httpStatuses: [],
        vendorCodes: [],
        requestIds: [],
        versionIds: [],
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
      };
      byId.set(r.rotationId, s);
    }
    s.attempts = Math.max(s.attempts, r.attempt);
    if (r.httpStatus !== undefined) addOnce(s.httpStatuses, r.httpStatus);
    if (r.vendorCode !== undefined) addOnce(s.vendorCodes, r.vendorCode);
    if (r.requestId !== undefined) addOnce(s.requestIds, r.requestId);
    if (r.versionId !== undefined) addOnce(s.versionIds, r.versionId);
    if (r.errorKind !== undefined) s.errorKind = r.errorKind;
    if (r.type === 'rotation-succeeded' || r.type === 'rotation-failed') {
      s.outcome = r.type === 'rotation-succeeded' ? 'succeeded' : 'failed';
      s.endedAt = r.ts;
      if (r.type === 'rotation-succeeded') delete s.errorKind;
    } else if (r.type === 'rotation-started' || r.type === 'rotation-retrying') {
      // A new attempt after a final record (a manual re-run with the same id) reopens it.
      if (r.type === 'rotation-started' && s.endedAt !== undefined) {
        s.outcome = 'running';
        delete s.endedAt;
      }
    }
  }
  return [...byId.values()]
    .filter((s) => {
      if (filter.targetId !== undefined && s.targetId !== filter.targetId) return false;
      const start = Date.parse(s.startedAt);
      const end = s.endedAt !== undefined ? Date.parse(s.endedAt) : Number.POSITIVE_INFINITY;
      if (filter.since !== undefined && end < filter.since) return false;
      if (filter.until !== undefined && start > filter.until) return false;
      return true;
    })
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}

/** Adds job logs where the lookup still finds them; a failing lookup leaves the summary as is. */
export async function withJobLogs(
  history: RotationSummary[],
  lookup: JobLogLookup | undefined,
): Promise<RotationSummary[]> {
  if (!lookup) return history;
  return Promise.all(
    history.map(async (s) => {
      const log = await lookup(s.rotationId, s.targetId).catch(() => undefined);
      return log && log.length > 0 ? { ...s, jobLog: log } : s;
    }),
  );
}

function addOnce<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}
