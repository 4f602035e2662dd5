import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUESSED_KIND_DETAIL, UNKNOWN_ROUTE_DETAIL } from '../../src/providers/ncp-cdss/classify.js';
import { type RotationOutcome, waitForRotations } from '../../src/queue/wait.js';
import type { SandboxFault } from '../../src/sandbox/index.js';
import { type Harness, startHarness } from './harness.js';

/** CDSS's error bodies are undocumented: the worker's NCP kind is a guess from the message text. */
const refused: SandboxFault = {
  type: 'http',
  status: 400,
  body: { code: 1001, message: 'Invalid kafkaManagerUserPassword: must be 8 to 20 characters' },
};

/** NCP's gateway answer to a route it does not know (a retired path, a wrong region prefix). */
const unknownRoute: SandboxFault = {
  type: 'http',
  status: 404,
  body: { error: { errorCode: '300', message: 'Not Found Exception' } },
};

let h: Harness;
let outcome: RotationOutcome;
let routeOutcome: RotationOutcome;
let routeInitial: string;
const generated: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    clusters: [
      { key: 'ncp-guess', provider: 'ncp-cdss', faults: [refused, refused, refused] },
      { key: 'ncp-route', provider: 'ncp-cdss', faults: [unknownRoute] },
    ],
    wrapComponents: (c) => {
      const inner = c.generatePassword;
      c.generatePassword = (policy) => {
        const pw = inner(policy);
        generated.push(pw);
        return pw;
      };
      return c;
    },
  });
  routeInitial = h.clusters.get('ncp-route')!.password;
  const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'guess' });
  const outcomes = await waitForRotations(h.runtime.queues.rotations, enqueued, {
    timeoutMs: 30_000,
    pollMs: 100,
  });
  outcome = outcomes.find((o) => o.targetId === 'ncp-guess')!;
  routeOutcome = outcomes.find((o) => o.targetId === 'ncp-route')!;
  await h.components.flushAlerts(5_000);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe("a provider's own detail reaches the on-call", () => {
  it('the rejections-exhausted alert of an NCP target says the kind was guessed from the message', () => {
    expect(outcome.outcome).toBe('failed');
    const alert = h.alerts.find((a) => a.reason === 'rejections-exhausted');
    expect(alert?.details.providerDetail).toBe(GUESSED_KIND_DETAIL);
  });

  it('so do the job log lines of the runs the cloud refused', async () => {
    const { logs } = await h.runtime.queues.rotations.getJobLogs(outcome.jobId);
    const guessed = logs.filter((l) => l.includes(GUESSED_KIND_DETAIL));
    // three refusals retried, and the fourth run's stop (it finds the rejections spent)
    expect(guessed.length).toBeGreaterThanOrEqual(3);
    expect(guessed.every((l) => l.includes('password-rejected'))).toBe(true);
    // and the vendor's own words, to judge the guess by
    expect(guessed.every((l) => l.includes('vendor message: "Invalid kafkaManagerUserPassword'))).toBe(true);
    // never a password the rotation generated (the cloud refused three; one more for ncp-route)
    expect(generated).toHaveLength(4);
    for (const pw of generated) {
      for (const l of [...logs, ...h.logs, JSON.stringify(h.alerts)]) expect(l).not.toContain(pw);
    }
  });
});

describe('an NCP gateway 404 / errorCode 300 (unknown route)', () => {
  it('stops at once with one bad-request alert that says config error, never "does not exist"', async () => {
    expect(routeOutcome.outcome).toBe('failed');
    const job = await h.runtime.queues.rotations.getJob(routeOutcome.jobId);
    expect(job?.data.attempt).toBe(1);
    const alerts = h.alerts.filter((a) => a.targetId === 'ncp-route');
    // the request never reached CDSS: certainly not applied, so no pending-may-be-applied alert
    expect(alerts.map((a) => a.reason)).toEqual(['bad-request']);
    expect(alerts[0]?.details.providerDetail).toBe(UNKNOWN_ROUTE_DETAIL);
    expect(alerts[0]?.details).toMatchObject({ httpStatus: 404, vendorCode: '300' });
    expect(JSON.stringify(alerts)).not.toMatch(/does not exist/);
    expect(h.clusters.get('ncp-route')!.password).toBe(routeInitial);
  });
});
