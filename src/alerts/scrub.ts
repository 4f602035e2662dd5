import type { Scrubber } from '../log/scrubber.js';
import type { Alert } from './types.js';

/** A copy of the alert with every string run through `scrub` (a Scrubber's), details included. */
export function scrubAlert(alert: Alert, scrub: Scrubber['scrub']): Alert {
  const details: Alert['details'] = {};
  for (const [k, v] of Object.entries(alert.details)) {
    details[scrub(k)] = typeof v === 'string' ? scrub(v) : v;
  }
  const out: Alert = {
    key: scrub(alert.key),
    severity: alert.severity,
    reason: alert.reason,
    targetId: scrub(alert.targetId),
    summary: scrub(alert.summary),
    details,
    at: alert.at,
  };
  if (alert.provider !== undefined) out.provider = scrub(alert.provider);
  if (alert.rotationId !== undefined) out.rotationId = scrub(alert.rotationId);
  return out;
}
