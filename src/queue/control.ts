// The control types the HTTP API, the CLI and the request job share: what a rotation request is
// and what enqueueing it returns. They sit in the queue layer, which carries them out.
import type { Trigger } from '../audit/types.js';
import type { RequestPriority } from '../requests/contract.js';
import type { TargetStatus } from '../rotation/target-status.js';

export interface RotateRequest {
  /** Target ids, or 'all'. */
  targets: string[] | 'all';
  trigger: Trigger;
  actor: string;
  /** Why, in the requester's words. */
  reason?: string;
  /** Default 'normal'; 'urgent' goes ahead of every normal rotation waiting. */
  priority?: RequestPriority;
}

export interface EnqueuedRotation {
  targetId: string;
  jobId: string;
  /** True when a rotation of this target was already waiting or running and this request joined it. */
  deduplicated: boolean;
}

/** The worker-side operations the HTTP API and the CLI call. */
export interface RotationControl {
  rotate(request: RotateRequest): Promise<EnqueuedRotation[]>;
  statuses(): Promise<TargetStatus[]>;
}
