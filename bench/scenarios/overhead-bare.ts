import { randomUUID } from 'node:crypto';
import type { BenchContext } from '../context.js';
import { type JobRun, jobRun } from '../job-run.js';
import { deletePrefix } from '../redis-stats.js';

/** N do-nothing jobs through a BullMQ worker child at concurrency 100: the BullMQ floor. */
export async function bareRun(ctx: BenchContext, jobs: number, execArgv: string[] = []): Promise<JobRun> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  try {
    return await jobRun(ctx, {
      child: 'bare-worker',
      params: { redisUrl: ctx.redisUrl, prefix, queue: 'bare', concurrency: 100 },
      prefix,
      queue: 'bare',
      jobs,
      data: (i) => ({ targetId: `bench-${i}` }),
      execArgv,
    });
  } finally {
    await deletePrefix(ctx.redis, prefix);
  }
}
