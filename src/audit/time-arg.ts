import { parseDuration } from '../config/duration.js';

/**
 * Parses a `--since` / `--until` value: an ISO date or time (`2026-01-31`, `2026-01-31T12:00:00Z`)
 * or a duration back from now (`7d`, `12h`, `30m`). Throws an error naming the option.
 */
export function parseTimeArg(option: string, value: string, now: number): number {
  const ago = parseDuration(value);
  if (ago !== undefined && !/^\d+$/.test(value.trim())) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    const t = Date.parse(value.trim());
    if (!Number.isNaN(t)) return t;
  }
  throw new Error(
    `${option}: invalid time '${value}': use an ISO date/time (2026-01-31, 2026-01-31T12:00:00Z) or a duration ago (7d, 12h)`,
  );
}
