import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, ScenarioResult } from '../context.js';
import type { Samples } from '../stats.js';

export interface WorkerAvailability {
  available: boolean;
  /** Why the worker scenarios cannot run, when they cannot. */
  reason?: string;
  /** The same, short enough for a table cell. */
  short?: string;
}

/** The worker scenarios need the rotation core (issue: rotation) and the `rotator worker` command (issue 5). */
export async function workerAvailability(ctx: BenchContext): Promise<WorkerAvailability> {
  const rotate = join(ctx.root, 'dist', 'src', 'rotation', 'rotate.js');
  const command = join(ctx.root, 'dist', 'src', 'cli', 'commands', 'worker.js');
  const missing: string[] = [];
  if (!existsSync(rotate)) missing.push('the rotation core (src/rotation/rotate.ts)');
  if (!existsSync(command) || readFileSync(command, 'utf8').includes('not yet implemented')) {
    missing.push('the worker (`rotator worker`, issue 5)');
  }
  return missing.length === 0
    ? { available: true }
    : {
        available: false,
        reason: `${missing.join(' and ')} not on main yet`,
        short: 'not run: worker not landed',
      };
}

export async function runWorkerScenarios(
  _ctx: BenchContext,
  _samples: Samples,
  _want: (name: string) => boolean,
): Promise<ScenarioResult> {
  throw new Error('the worker has landed: wire bench/scenarios/worker.ts to it before trusting this table');
}
