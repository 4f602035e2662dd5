import type { RotatorConfig } from '../config/schema.js';
import { enqueueRotation } from '../queue/enqueue.js';
import type { RotatorQueues } from '../queue/queues.js';
import type { TargetStateStore } from '../queue/target-state.js';
import { collectStatuses } from './status.js';
import type { EnqueuedRotation, RotateRequest, RotationControl } from '../queue/control.js';

export class UnknownTargetsError extends Error {
  override name = 'UnknownTargetsError';
  constructor(readonly ids: string[]) {
    super(`unknown target${ids.length > 1 ? 's' : ''}: ${ids.join(', ')}`);
  }
}

export class DisabledTargetsError extends Error {
  override name = 'DisabledTargetsError';
  constructor(readonly ids: string[]) {
    super(`disabled target${ids.length > 1 ? 's' : ''}: ${ids.join(', ')}`);
  }
}

/**
 * What the CLI and the HTTP API call: on-demand rotations (deduplicated per target, exactly like a
 * scheduler's) and the per-target status. Needs Redis only, no worker.
 */
/** Enqueue requests in flight at once for a multi-target rotate. */
const ENQUEUE_PARALLELISM = 32;

export function createRotationControl(
  config: RotatorConfig,
  queues: Pick<RotatorQueues, 'rotations' | 'triggers' | 'connection'>,
  state: TargetStateStore,
): RotationControl {
  const byId = new Map(config.targets.map((t) => [t.id, t]));
  const keep = { keepCompleted: config.jobs.keepCompleted, keepFailed: config.jobs.keepFailed };
  return {
    async rotate(request: RotateRequest): Promise<EnqueuedRotation[]> {
      const ids =
        request.targets === 'all'
          ? config.targets.filter((t) => t.enabled).map((t) => t.id)
          : [...new Set(request.targets)];
      const unknown = ids.filter((id) => !byId.has(id));
      if (unknown.length) throw new UnknownTargetsError(unknown);
      const disabled = ids.filter((id) => !byId.get(id)!.enabled);
      if (disabled.length) throw new DisabledTargetsError(disabled);
      // Bounded parallelism: `--all` over a large fleet must not enqueue one round trip at a time.
      const out: EnqueuedRotation[] = new Array(ids.length);
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < ids.length; i = next++) {
          out[i] = await enqueueRotation(
            queues,
            {
              targetId: ids[i]!,
              trigger: request.trigger,
              actor: request.actor,
              ...(request.reason !== undefined ? { reason: request.reason } : {}),
              ...(request.priority ? { priority: request.priority } : {}),
            },
            { keep },
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(ENQUEUE_PARALLELISM, ids.length) }, lane));
      return out;
    },
    statuses: () => collectStatuses(config, queues, state, Date.now()),
  };
}
