/** Which call a fault applies to. */
export type FaultOperation = 'reset' | 'status';

/**
 * A scripted misbehaviour, queued per cluster and consumed by the next matching call (after the
 * request was authenticated: a bad signature is answered before any fault).
 */
export type SandboxFault =
  /** Answer with this status and the provider's usual error body for it (or `body`). */
  | { type: 'http'; status: number; body?: unknown; headers?: Record<string, string>; op?: FaultOperation }
  /** 429 with `Retry-After` (seconds or an HTTP date; default "2"). */
  | { type: 'throttle'; retryAfter?: string; op?: FaultOperation }
  /** Never answer; the connection stays open until the client gives up or the sandbox closes. */
  | { type: 'hang'; op?: FaultOperation }
  /** Apply the reset (the password changes, the cluster turns busy), then destroy the socket. */
  | { type: 'drop-after-apply' }
  /** A 2xx (status) or 400 (CSS reset) / 200 (NCP reset) whose body is truncated JSON; nothing applied. */
  | { type: 'malformed-json'; op?: FaultOperation }
  /** NCP only: 200 `{"code":0,"result":null}`; nothing applied. */
  | { type: 'result-null' }
  /** Answer `times` resets (default 1) as busy (CSS 409 CSS.0011) before the next one succeeds. */
  | { type: 'busy'; times?: number }
  /**
   * CSS only: answer `times` resets (default 1) with HTTP 202 and `{"errCode":"CSS.0011",...}`, the
   * way both vendors' error-code tables list CSS.0011; nothing applied.
   */
  | { type: 'busy202'; times?: number };

export function faultOperation(f: SandboxFault): FaultOperation {
  return 'op' in f && f.op ? f.op : 'reset';
}
