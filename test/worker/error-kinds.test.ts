import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/types.js';
import type { SandboxFault } from '../../src/sandbox/index.js';
import { type RotationOutcome, waitForRotations } from '../../src/queue/wait.js';
import { type Harness, type HarnessCluster, startHarness } from './harness.js';
import { passwordOf } from '../support/secret-text.js';

const weak = { errCode: 'CSS.2026', externalMessage: 'CSS.2026 : Weak password.' };
const rejected: SandboxFault = { type: 'http', status: 400, body: weak };

interface Row {
  key: string;
  faults: SandboxFault[];
  outcome: 'succeeded' | 'failed';
  /** Runs of the processor (1 = no retry). */
  attempts: number;
  /** `attempts` is a minimum (timing-dependent rows: a slow machine may time out once more). */
  atLeast?: boolean;
  alerts: Alert['reason'][];
  /** What the store's current password is afterwards. */
  current: 'new' | 'none';
  /** Distinct passwords the cluster took. */
  applied: number;
  target?: HarnessCluster['target'];
  setup?: (h: Harness) => void;
}

/** The error-kind table of docs/operations.md, row by row. */
const TABLE: Row[] = [
  { key: 'ok', faults: [], outcome: 'succeeded', attempts: 1, alerts: [], current: 'new', applied: 1 },
  {
    key: 'busy-twice',
    faults: [{ type: 'busy', times: 2 }],
    outcome: 'succeeded',
    attempts: 3,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  // both vendors' error tables list CSS.0011 with HTTP 202: a 2xx that is busy, not applied
  {
    key: 'busy202-twice',
    faults: [{ type: 'busy202', times: 2 }],
    outcome: 'succeeded',
    attempts: 3,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  {
    key: 'throttled',
    faults: [{ type: 'throttle', retryAfter: '1' }],
    outcome: 'succeeded',
    attempts: 2,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  {
    key: 'server-error',
    faults: [{ type: 'http', status: 500 }],
    outcome: 'succeeded',
    attempts: 2,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  // the reset reached the cloud, the answer was lost: the retry applies the SAME password
  {
    key: 'dropped',
    faults: [{ type: 'drop-after-apply' }],
    outcome: 'succeeded',
    attempts: 2,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  {
    key: 'hang',
    faults: [{ type: 'hang' }],
    outcome: 'succeeded',
    attempts: 2,
    atLeast: true,
    alerts: [],
    current: 'new',
    applied: 1,
    target: { timing: { requestTimeout: 800 } },
  },
  {
    key: 'malformed',
    faults: [{ type: 'malformed-json' }],
    outcome: 'succeeded',
    attempts: 2,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  // a rejected password is discarded: the next run stages a fresh one
  {
    key: 'rejected-once',
    faults: [rejected],
    outcome: 'succeeded',
    attempts: 2,
    alerts: [],
    current: 'new',
    applied: 1,
  },
  // three passwords rejected (maxPasswordRejections: 3); the fourth run finds them spent and stops
  {
    key: 'rejected-always',
    faults: [rejected, rejected, rejected],
    outcome: 'failed',
    attempts: 4,
    alerts: ['rejections-exhausted'],
    current: 'none',
    applied: 0,
  },
  {
    key: 'precondition',
    faults: [{ type: 'http', status: 412 }],
    outcome: 'failed',
    attempts: 1,
    alerts: ['precondition'],
    current: 'none',
    applied: 0,
  },
  {
    key: 'unauthorized',
    faults: [{ type: 'http', status: 401 }],
    outcome: 'failed',
    attempts: 1,
    alerts: ['auth'],
    current: 'none',
    applied: 0,
  },
  {
    key: 'forbidden',
    faults: [{ type: 'http', status: 403 }],
    outcome: 'failed',
    attempts: 1,
    alerts: ['auth'],
    current: 'none',
    applied: 0,
  },
  {
    key: 'gone',
    faults: [{ type: 'http', status: 404 }],
    outcome: 'failed',
    attempts: 1,
    alerts: ['not-found'],
    current: 'none',
    applied: 0,
  },
  {
    key: 'busy-forever',
    faults: [{ type: 'busy', times: 100 }],
    outcome: 'failed',
    attempts: 3, // bounded by the busy budget, not a fixed count
    atLeast: true,
    // the core re-uses the pending version of the earlier runs and cannot tell whether the cloud took
    // it, so it also reports the pending version (the cluster still has its old password here)
    alerts: ['busy-budget-spent', 'pending-may-be-applied'],
    current: 'none',
    applied: 0,
    target: { timing: { busyBudget: 600 }, retry: { attempts: 50, initialDelay: 100, maxDelay: 200 } },
  },
  {
    key: 'always-500',
    faults: Array.from({ length: 10 }, () => ({ type: 'http', status: 503 }) as SandboxFault),
    outcome: 'failed',
    attempts: 3,
    alerts: ['final-failure', 'pending-may-be-applied'],
    current: 'none',
    applied: 0,
    target: { retry: { attempts: 3, initialDelay: 50, maxDelay: 100 } },
  },
  {
    key: 'broken-cluster',
    faults: [],
    outcome: 'failed',
    attempts: 1,
    alerts: ['cluster-failed'],
    current: 'none',
    applied: 0,
    setup: (h) => {
      h.clusters.get('broken-cluster')!.lifecycle = 'failed';
    },
  },
];

let h: Harness;
let outcomes: Map<string, RotationOutcome>;
let initial: Map<string, string>;

beforeAll(async () => {
  h = await startHarness({
    clusters: TABLE.map((r) => ({ key: r.key, faults: r.faults, ...(r.target ? { target: r.target } : {}) })),
  });
  for (const r of TABLE) r.setup?.(h);
  initial = new Map([...h.clusters].map(([k, c]) => [k, c.password]));
  const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'table' });
  const list = await waitForRotations(h.runtime.queues.rotations, enqueued, {
    timeoutMs: 60_000,
    pollMs: 100,
  });
  outcomes = new Map(list.map((o) => [o.targetId, o]));
  await h.components.flushAlerts(5_000);
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('the error-kind table', () => {
  it.each(TABLE.map((r) => [r.key, r] as const))('%s', async (key, row) => {
    const outcome = outcomes.get(key)!;
    const cluster = h.clusters.get(key)!;
    expect(outcome.outcome).toBe(row.outcome);
    const job = await h.runtime.queues.rotations.getJob(outcome.jobId);
    if (row.atLeast) expect(job?.data.attempt).toBeGreaterThanOrEqual(row.attempts);
    else expect(job?.data.attempt).toBe(row.attempts);
    const reasons = h.alerts.filter((a) => a.targetId === key).map((a) => a.reason);
    expect(reasons.sort()).toEqual([...row.alerts].sort());
    const current = await h.components.store.getCurrent(`h/${key}`);
    const distinctNew = new Set(cluster.history.slice(1));
    expect(distinctNew.size).toBe(row.applied);
    if (row.current === 'new') {
      expect(passwordOf(current)).toBe(cluster.password);
      expect(cluster.password).not.toBe(initial.get(key));
    } else {
      // nothing promoted, and the cluster still has its old password
      expect(current).toBeUndefined();
      expect(cluster.password).toBe(initial.get(key));
    }
    if (row.outcome === 'failed') {
      expect(await job?.getState()).toBe('failed');
      const status = (await h.runtime.control.statuses()).find((s) => s.id === key)!;
      expect(status.lastOutcome).toBe('failed');
    }
  });
});
