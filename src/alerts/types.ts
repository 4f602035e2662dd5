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
