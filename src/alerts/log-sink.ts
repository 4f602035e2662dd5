import type { Logger } from 'pino';
import type { AlertSink } from './types.js';

export const LOG_SINK_NAME = 'log';

/** Writes the (already scrubbed) alert to the log: error for critical, warn for warning. */
export function createLogSink(logger: Logger): AlertSink {
  return {
    name: LOG_SINK_NAME,
    async send(alert) {
      const fields = { alert };
      if (alert.severity === 'critical') logger.error(fields, 'alert');
      else logger.warn(fields, 'alert');
    },
  };
}
