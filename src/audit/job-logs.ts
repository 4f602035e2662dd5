import type { Queue } from 'bullmq';
import type { JobLogLookup } from './history.js';

/** The job logs of the configured queues, opened for one `rotator audit` run; close() when done. */
export interface JobLogSource {
  lookup: JobLogLookup;
  close(): Promise<void>;
}

export interface QueueJobLogOptions {
  /** The BullMQ job id of a rotation (default: the rotation id itself). */
  jobIdFor?: (rotationId: string, targetId: string) => string;
}

/** A JobLogLookup reading `queue.getJobLogs()`; undefined once the job (and its log) is gone. */
export function jobLogLookupFromQueue(queue: Queue, options: QueueJobLogOptions = {}): JobLogLookup {
  const jobIdFor = options.jobIdFor ?? ((rotationId) => rotationId);
  return async (rotationId, targetId) => {
    const { logs } = await queue.getJobLogs(jobIdFor(rotationId, targetId), 0, -1, true);
    return logs.length > 0 ? logs : undefined;
  };
}
