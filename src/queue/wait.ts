import type { EnqueuedRotation } from './control.js';
import type { RotationQueue } from './queues.js';

export interface RotationOutcome {
  targetId: string;
  jobId: string;
  outcome: 'succeeded' | 'failed' | 'pending';
  attempts?: number;
  versionId?: string;
  /** Why it failed, or what it is doing; never a secret (job failure reasons are built from plain fields). */
  detail?: string;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called when a job vanished (Redis lost its data): returns the job that replaces it. */
  resubmit?: (targetId: string) => Promise<EnqueuedRotation>;
  /** How often one target may be resubmitted. */
  maxResubmits?: number;
}

/**
 * Waits until every rotation completed or failed. Polls job states rather than listening to
 * events, so a Redis restart in between is seen (a vanished job is resubmitted, not waited for
 * forever).
 */
export async function waitForRotations(
  queue: RotationQueue,
  rotations: readonly EnqueuedRotation[],
  options: WaitOptions,
): Promise<RotationOutcome[]> {
  const pollMs = options.pollMs ?? 500;
  const deadline = Date.now() + options.timeoutMs;
  const current = new Map(rotations.map((r) => [r.targetId, r.jobId]));
  const resubmits = new Map<string, number>();
  const done = new Map<string, RotationOutcome>();
  for (;;) {
    for (const [targetId, jobId] of current) {
      if (done.has(targetId)) continue;
      const job = await queue.getJob(jobId);
      if (!job) {
        const n = resubmits.get(targetId) ?? 0;
        if (options.resubmit && n < (options.maxResubmits ?? 3)) {
          resubmits.set(targetId, n + 1);
          current.set(targetId, (await options.resubmit(targetId)).jobId);
        } else {
          done.set(targetId, { targetId, jobId, outcome: 'failed', detail: 'the rotation job disappeared' });
        }
        continue;
      }
      const state = await job.getState();
      if (state === 'completed') {
        // It may have completed after it was read (then it was read without its return value).
        const rv = (await queue.getJob(jobId))?.returnvalue as {
          versionId?: string;
          attempts?: number;
        } | null;
        done.set(targetId, {
          targetId,
          jobId,
          outcome: 'succeeded',
          ...(rv?.attempts !== undefined ? { attempts: rv.attempts } : {}),
          ...(rv?.versionId ? { versionId: rv.versionId } : {}),
        });
      } else if (state === 'failed') {
        done.set(targetId, {
          targetId,
          jobId,
          outcome: 'failed',
          attempts: (job.data as { attempt?: number }).attempt ?? job.attemptsMade,
          detail: job.failedReason,
        });
      }
    }
    if (done.size === current.size) break;
    if (Date.now() > deadline) {
      for (const [targetId, jobId] of current) {
        if (!done.has(targetId))
          done.set(targetId, {
            targetId,
            jobId,
            outcome: 'pending',
            detail: 'still running when the wait timed out',
          });
      }
      break;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return rotations.map((r) => done.get(r.targetId)!);
}
