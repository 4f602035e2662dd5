import type { TargetConfig } from '../config/schema.js';
import type { TargetLeases } from '../queue/lease.js';
import type { SecretStore } from '../secrets/types.js';
import type { EnqueuedRotation } from '../queue/control.js';

export interface PendingSweepOptions {
  targets: readonly TargetConfig[];
  store: Pick<SecretStore, 'describe'>;
  leases: Pick<TargetLeases, 'isHeld' | 'ttlMs'>;
  enqueue: (request: { targetId: string; trigger: 'schedule'; actor: string }) => Promise<EnqueuedRotation>;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now: number;
  /** Why the sweep runs, for the log and the job's actor (`pending-sweep:<why>`). */
  why: string;
  /** After Redis lost its data every pending version is a candidate, whatever its age. */
  ignoreAge?: boolean;
}

export interface SweptTarget {
  targetId: string;
  versionId: string;
  rotationId: string;
  /** A rotation of the target was already queued or running: the sweep joined it. */
  joined: boolean;
}

/**
 * Finds every enabled target whose store holds an orphaned pending version — no run in this
 * Redis holds the target's lease, and the version is older than the lease time — and asks for a
 * rotation of it (deduplicated, like a scheduler). That rotation adopts the pending password and
 * rolls it forward, as after a Redis loss: the cloud may already hold it. A pending version left by
 * a job that failed after stalls, or by one removed by hand, is finished this way, with no human.
 */
export async function sweepPending(opts: PendingSweepOptions): Promise<SweptTarget[]> {
  const swept: SweptTarget[] = [];
  for (const target of opts.targets) {
    if (!target.enabled) continue;
    let versions;
    try {
      versions = await opts.store.describe(target.secret.id);
    } catch (err) {
      opts.logger.warn(
        { targetId: target.id, err: (err as Error).message },
        'pending sweep: the store could not be read',
      );
      continue;
    }
    const pending = versions?.find((v) => v.stages.includes('AWSPENDING'));
    if (!pending) continue;
    if (await opts.leases.isHeld(target.id)) continue;
    const age = pending.createdAt ? opts.now - pending.createdAt.getTime() : Number.POSITIVE_INFINITY;
    if (!opts.ignoreAge && age < opts.leases.ttlMs) continue;
    const enqueued = await opts.enqueue({
      targetId: target.id,
      trigger: 'schedule',
      actor: `pending-sweep:${opts.why}`,
    });
    opts.logger.info(
      {
        targetId: target.id,
        versionId: pending.versionId,
        rotationId: enqueued.jobId,
        joined: enqueued.deduplicated,
        why: opts.why,
      },
      'orphaned pending secret version: rotation enqueued to finish it',
    );
    swept.push({
      targetId: target.id,
      versionId: pending.versionId,
      rotationId: enqueued.jobId,
      joined: enqueued.deduplicated,
    });
  }
  return swept;
}
