import type { RateLimit } from '../../src/util/rate-limit.js';
import type { CallCounts } from '../fleet.js';

export const LATENCY_MS = 50;
export const CONCURRENCY = 100;

/**
 * A provider rate limit that binds: each of the 3 accounts (one per cloud) gets `targets / 20`
 * calls per second, so its ~targets calls need about 20 s, above the latency bound (~15 s).
 */
export function rateLimitFor(targets: number): RateLimit {
  return { max: Math.max(1, Math.round(targets / 20)), per: 1000 };
}

export interface FleetBound {
  /** Calls counted in the sandbox log, per rotation. */
  callsPerRotation: number;
  /** Little's law: calls that wait `LATENCY_MS`, times the latency, over the concurrency. */
  latencyBoundMs: number;
  /** The busiest account's calls at its allowed rate (0 without a limit). */
  rateBoundMs: number;
  /** The larger of the two, plus any wait the rotation must make per target (`fixedWaitMs`). */
  boundMs: number;
}

/**
 * The fastest a fleet can rotate. Each rotation holds a worker slot for at least its calls' latency
 * (reset and status calls wait `LATENCY_MS`; data-plane logins do not), so N rotations at
 * concurrency C take at least (latency-bearing calls x latency + fixed waits) / C. A rate limit of
 * `max` calls in any `per` ms window per account (one account per cloud here) lets an account with
 * n calls finish no sooner than (ceil(n / max) - 1) x per after its first call.
 */
export function fleetBound(
  calls: CallCounts,
  targets: number,
  concurrency: number,
  rateLimit: RateLimit | undefined,
  fixedWaitMsPerRotation = 0,
): FleetBound {
  const latencyCalls = calls.reset + calls.status;
  const latencyBoundMs = (latencyCalls * LATENCY_MS + targets * fixedWaitMsPerRotation) / concurrency;
  const busiest = Math.max(0, ...Object.values(calls.perProvider));
  const rateBoundMs = rateLimit ? Math.max(0, Math.ceil(busiest / rateLimit.max) - 1) * rateLimit.per : 0;
  return {
    callsPerRotation: (latencyCalls + calls.dataplane + calls.other) / targets,
    latencyBoundMs,
    rateBoundMs,
    boundMs: Math.max(latencyBoundMs, rateBoundMs),
  };
}
