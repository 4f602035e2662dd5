import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUESSED_KIND_DETAIL } from '../../src/providers/ncp-cdss/classify.js';
import { type RotationOutcome, waitForRotations } from '../../src/queue/wait.js';
import type { SandboxFault } from '../../src/sandbox/index.js';
import { type Harness, startHarness } from './harness.js';

/** CDSS's error bodies are undocumented: the worker's NCP kind is a guess from the message text. */
const refused: SandboxFault = {
  type: 'http',
  status: 400,
  body: { code: 1001, message: 'Invalid kafkaManagerUserPassword: must be 8 to 20 characters' },
};

let h: Harness;
let outcome: RotationOutcome;
const generated: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    clusters: [{ key: 'ncp-guess', provider: 'ncp-cdss', faults: [refused, refused, refused] }],
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
  const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'guess' });
  const outcomes = await waitForRotations(h.runtime.queues.rotations, enqueued, {
    timeoutMs: 30_000,
    pollMs: 100,
  });
  outcome = outcomes[0]!;
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
    // never a password the rotation generated (the cloud refused three)
    expect(generated).toHaveLength(3);
    for (const pw of generated) {
      for (const l of [...logs, ...h.logs, JSON.stringify(h.alerts)]) expect(l).not.toContain(pw);
    }
  });
});
