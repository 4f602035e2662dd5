import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.js';
import { type RotationOutcome, waitForRotations } from '../../src/queue/wait.js';
import type { SandboxFault } from '../../src/sandbox/index.js';
import { type Harness, startHarness } from './harness.js';
import { passwordOf } from '../support/secret-text.js';

/** The records a failed run writes; the trail throws on these (a full disk, a lost mount). */
const BROKEN_TYPES = new Set<AuditEvent['type']>(['rotation-retrying', 'rotation-failed', 'alert']);

let h: Harness;
let outcomes: Map<string, RotationOutcome>;
const refused: AuditEvent[] = [];

beforeAll(async () => {
  h = await startHarness({
    clusters: [
      {
        // the reset may have reached the cloud each time: retries, then stops with a pending version
        key: 'always-503',
        faults: Array.from({ length: 10 }, () => ({ type: 'http', status: 503 }) as SandboxFault),
        target: { retry: { attempts: 3, initialDelay: 50, maxDelay: 100 } },
      },
      { key: 'precondition', faults: [{ type: 'http', status: 412 }] },
      // the trail refuses even the start record of this one: no rotation may run unaudited
      { key: 'unaudited' },
      // the first run sends the reset and gets no answer; the retry cannot record its start
      { key: 'unaudited-retry', faults: [{ type: 'drop-after-apply' }] },
    ],
    wrapComponents: (c) => {
      const inner = c.audit;
      c.audit = {
        append: async (event) => {
          if (event.targetId === 'unaudited' && event.type === 'rotation-started') {
            throw new Error('EIO: i/o error, write');
          }
          if (
            event.targetId === 'unaudited-retry' &&
            event.type === 'rotation-started' &&
            (event.attempt ?? 0) >= 2
          ) {
            throw new Error('EIO: i/o error, write');
          }
          if (BROKEN_TYPES.has(event.type)) {
            refused.push(event);
            throw new Error('ENOSPC: no space left on device, write');
          }
          await inner.append(event);
        },
        close: () => inner.close(),
      };
      return c;
    },
  });
  const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'audit-test' });
  const list = await waitForRotations(h.runtime.queues.rotations, enqueued, {
    timeoutMs: 30_000,
    pollMs: 100,
  });
  outcomes = new Map(list.map((o) => [o.targetId, o]));
  await h.components.flushAlerts(5_000);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('a failing audit trail on the failure path', () => {
  it('still sends the pending-version alert after the retries, and the run still retries', async () => {
    const outcome = outcomes.get('always-503')!;
    expect(outcome.outcome).toBe('failed');
    const job = await h.runtime.queues.rotations.getJob(outcome.jobId);
    expect(job?.data.attempt).toBe(3);
    const reasons = h.alerts.filter((a) => a.targetId === 'always-503').map((a) => a.reason);
    // pending-may-be-applied is sent on the retries too (the cloud may hold the reset) and at the stop
    expect(new Set(reasons)).toEqual(new Set(['final-failure', 'pending-may-be-applied']));
    expect(refused.some((e) => e.targetId === 'always-503' && e.type === 'rotation-failed')).toBe(true);
  });

  it('still sends the alert of a run that stops at once, and records the state in Redis', async () => {
    expect(outcomes.get('precondition')!.outcome).toBe('failed');
    const reasons = h.alerts.filter((a) => a.targetId === 'precondition').map((a) => a.reason);
    expect(reasons).toEqual(['precondition']);
    const status = (await h.runtime.control.statuses()).find((s) => s.id === 'precondition')!;
    expect(status.lastOutcome).toBe('failed');
  });

  it('does not rotate when the start cannot be recorded, and alerts', async () => {
    expect(outcomes.get('unaudited')!.outcome).toBe('failed');
    expect(h.sandbox.clusters.get('unaudited')!.history).toHaveLength(1); // the initial password only
    const alerts = h.alerts.filter((a) => a.targetId === 'unaudited');
    expect(alerts.map((a) => a.reason)).toEqual(['final-failure']);
    expect(alerts[0]!.summary).toMatch(/could not be recorded.*nothing was changed/);
  });

  it('on a retry, the start alert says the pending password may already be applied', async () => {
    expect(outcomes.get('unaudited-retry')!.outcome).toBe('failed');
    // The first run's reset reached the cloud: the cluster holds the pending password.
    const cluster = h.sandbox.clusters.get('unaudited-retry')!;
    expect(cluster.history).toHaveLength(2);
    const pending = await h.components.store.getPending('h/unaudited-retry');
    expect(passwordOf(pending)).toBe(cluster.password);
    const start = h.alerts.find(
      (a) => a.targetId === 'unaudited-retry' && /could not be recorded/.test(a.summary),
    );
    expect(start?.summary).toMatch(/an earlier run of this rotation may have staged a pending password/);
    expect(start?.summary).toMatch(/the cloud may already hold it/);
    expect(start?.summary).not.toMatch(/nothing was changed/);
    expect(start?.details.pendingMayBeApplied).toBe(true);
  });

  it('logs each refused record with a static message and its fields, never a password', async () => {
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.filter((l) => l.msg === 'failure record could not be written');
    expect(failed.length).toBe(refused.length);
    expect(failed.map((l) => l.recordType)).toContain('rotation-failed');
    expect(failed.every((l) => typeof l.rotationId === 'string' && typeof l.targetId === 'string')).toBe(
      true,
    );
    const pending = await h.components.store.getPending('h/always-503');
    expect(pending).toBeDefined();
    const passwords = [passwordOf(pending)!, ...[...h.clusters.values()].flatMap((c) => c.history)];
    for (const password of passwords) {
      for (const l of h.logs) expect(l).not.toContain(password);
    }
  });
});
