import type { AuditEvent, AuditSink } from '../audit/types.js';
import type { RotatorMetrics } from './registry.js';

/**
 * An AuditSink that feeds the metrics and passes every event on to `inner`. An event is counted
 * only once `inner` has written it, so the metrics never show a rotation the trail lacks.
 */
export function metricsAuditSink(metrics: Pick<RotatorMetrics, 'observe'>, inner: AuditSink): AuditSink {
  return {
    async append(event: AuditEvent) {
      await inner.append(event);
      metrics.observe(event);
    },
    close: () => inner.close(),
  };
}
