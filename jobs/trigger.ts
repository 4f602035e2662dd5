import type { Job } from 'bullmq';
import type { Trigger } from '../src/audit/types.js';
import type { EnqueuedRotation } from '../src/queue/control.js';
import { JOB_NAMES, type ScheduledRotationData } from '../src/queue/definitions.js';

export interface TriggerContext {
  /** Enqueues a deduplicated rotation (the same call an on-demand request makes). */
  enqueue: (request: { targetId: string; trigger: Trigger; actor: string }) => Promise<EnqueuedRotation>;
  /** Whether the target is enabled in this worker's config. */
  isEnabled: (targetId: string) => boolean;
  watchdog: () => Promise<string[]>;
}

/**
 * The processor of the triggers queue. A scheduler's job does nothing but enqueue "rotate target X"
 * (BullMQ schedulers cannot carry deduplication); the watchdog's job runs the overdue check.
 */
export function createTriggerProcessor(ctx: TriggerContext) {
  return async function processTrigger(job: Job<Partial<ScheduledRotationData>>): Promise<unknown> {
    if (job.name === JOB_NAMES.watchdog) {
      const overdue = await ctx.watchdog();
      return { overdue };
    }
    if (job.name === JOB_NAMES.scheduledRotation && job.data.targetId) {
      const targetId = job.data.targetId;
      // A scheduler left by a worker with an older config: do not rotate what is no longer enabled.
      if (!ctx.isEnabled(targetId)) return { skipped: targetId };
      const enqueued = await ctx.enqueue({ targetId, trigger: 'schedule', actor: 'scheduler' });
      return enqueued;
    }
    return { ignored: job.name };
  };
}
