import type { AuditEvent } from '../../src/audit/types.js';

/**
 * The audit events a worker writes for a mixed run: two clean successes, one rotation that met
 * 409 (busy) twice and then went through, one that stopped at 412 (precondition).
 * Shaped after rotation-protocol.md: started → steps → retrying/succeeded/failed.
 */
export interface MixedRun {
  events: AuditEvent[];
  expected: {
    rotationId: string;
    targetId: string;
    provider: string;
    outcome: 'succeeded' | 'failed';
    attempts: number;
    httpStatuses: number[];
  }[];
}

export function mixedRun(): MixedRun {
  const events: AuditEvent[] = [];
  const base = (
    rotationId: string,
    targetId: string,
    provider: string,
    trigger: AuditEvent['trigger'],
    actor: string,
  ) => ({ rotationId, targetId, provider, trigger, actor }) as const;

  const success = (
    rotationId: string,
    targetId: string,
    provider: string,
    requestId: string,
    versionId: string,
  ) => {
    const b = base(rotationId, targetId, provider, 'schedule', 'scheduler');
    events.push(
      { ...b, type: 'rotation-started', attempt: 1 },
      { ...b, type: 'step', attempt: 1, step: 'stage', outcome: 'ok', versionId, durationMs: 40 },
      { ...b, type: 'step', attempt: 1, step: 'ready', outcome: 'ok', httpStatus: 200, durationMs: 300 },
      {
        ...b,
        type: 'step',
        attempt: 1,
        step: 'apply',
        outcome: 'ok',
        httpStatus: 200,
        requestId,
        versionId,
        durationMs: 800,
      },
      { ...b, type: 'step', attempt: 1, step: 'settle', outcome: 'ok', httpStatus: 200, durationMs: 20_000 },
      { ...b, type: 'step', attempt: 1, step: 'promote', outcome: 'ok', versionId, durationMs: 60 },
      { ...b, type: 'rotation-succeeded', attempt: 1, outcome: 'succeeded', versionId, durationMs: 21_200 },
    );
  };

  success('rot-a', 'cdss-prod', 'ncp-cdss', 'ncp-req-1', 'v-a');

  // 409 twice, then it clears (trigger: the CLI, an actor with a comma to exercise CSV quoting).
  {
    const b = base('rot-b', 'css-logs', 'huaweicloud-css', 'cli', 'ops, on-call');
    events.push({ ...b, type: 'rotation-started', attempt: 1 });
    events.push({
      ...b,
      type: 'step',
      attempt: 1,
      step: 'stage',
      outcome: 'ok',
      versionId: 'v-b',
      durationMs: 30,
    });
    for (const attempt of [1, 2]) {
      if (attempt > 1) events.push({ ...b, type: 'rotation-started', attempt });
      events.push({
        ...b,
        type: 'step',
        attempt,
        step: 'apply',
        outcome: 'failed',
        errorKind: 'busy',
        httpStatus: 409,
        vendorCode: 'CSS.0011',
        requestId: `hw-req-busy-${attempt}`,
        versionId: 'v-b',
        durationMs: 500,
        detail: 'cluster busy, "another operation" running',
      });
      events.push({
        ...b,
        type: 'rotation-retrying',
        attempt,
        outcome: 'retrying',
        errorKind: 'busy',
        httpStatus: 409,
      });
    }
    events.push({ ...b, type: 'rotation-started', attempt: 3 });
    events.push({
      ...b,
      type: 'step',
      attempt: 3,
      step: 'stage',
      outcome: 'reused',
      versionId: 'v-b',
      durationMs: 20,
    });
    events.push({
      ...b,
      type: 'step',
      attempt: 3,
      step: 'apply',
      outcome: 'ok',
      httpStatus: 200,
      requestId: 'hw-req-ok',
      versionId: 'v-b',
      durationMs: 700,
    });
    events.push({ ...b, type: 'step', attempt: 3, step: 'settle', outcome: 'ok', durationMs: 40_000 });
    events.push({
      ...b,
      type: 'step',
      attempt: 3,
      step: 'promote',
      outcome: 'ok',
      versionId: 'v-b',
      durationMs: 50,
    });
    events.push({
      ...b,
      type: 'rotation-succeeded',
      attempt: 3,
      outcome: 'succeeded',
      versionId: 'v-b',
      durationMs: 400_000,
    });
  }

  // 412: stop and alert.
  {
    const b = base('rot-c', 'otc-search', 'otc-css', 'api', 'api');
    events.push(
      { ...b, type: 'rotation-started', attempt: 1 },
      { ...b, type: 'step', attempt: 1, step: 'stage', outcome: 'ok', versionId: 'v-c', durationMs: 30 },
      { ...b, type: 'step', attempt: 1, step: 'ready', outcome: 'ok', durationMs: 100 },
      {
        ...b,
        type: 'step',
        attempt: 1,
        step: 'apply',
        outcome: 'failed',
        errorKind: 'precondition',
        httpStatus: 412,
        vendorCode: 'CSS.0015',
        requestId: 'otc-req-412',
        versionId: 'v-c',
        durationMs: 400,
      },
      {
        ...b,
        type: 'rotation-failed',
        attempt: 1,
        outcome: 'failed',
        errorKind: 'precondition',
        httpStatus: 412,
        durationMs: 600,
      },
    );
  }

  success('rot-d', 'css-logs-2', 'huaweicloud-css', 'hw-req-2', 'v-d');

  return {
    events,
    expected: [
      {
        rotationId: 'rot-a',
        targetId: 'cdss-prod',
        provider: 'ncp-cdss',
        outcome: 'succeeded',
        attempts: 1,
        httpStatuses: [200],
      },
      {
        rotationId: 'rot-b',
        targetId: 'css-logs',
        provider: 'huaweicloud-css',
        outcome: 'succeeded',
        attempts: 3,
        httpStatuses: [409, 200],
      },
      {
        rotationId: 'rot-c',
        targetId: 'otc-search',
        provider: 'otc-css',
        outcome: 'failed',
        attempts: 1,
        httpStatuses: [412],
      },
      {
        rotationId: 'rot-d',
        targetId: 'css-logs-2',
        provider: 'huaweicloud-css',
        outcome: 'succeeded',
        attempts: 1,
        httpStatuses: [200],
      },
    ],
  };
}
