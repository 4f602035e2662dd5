import type { Alert } from '../../src/alerts/types.js';

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    key: 'css-prod:precondition',
    severity: 'critical',
    reason: 'precondition',
    targetId: 'css-prod',
    provider: 'huaweicloud-css',
    rotationId: 'rot-42',
    summary: 'reset answered 412: the cluster refuses the operation; a human must look',
    details: { kind: 'precondition', httpStatus: 412, vendorCode: 'CSS.0015', requestId: 'req-9f1' },
    at: Date.UTC(2026, 0, 2, 3, 4, 5),
    ...overrides,
  };
}
