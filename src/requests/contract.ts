import { z } from 'zod';

/**
 * The public contract of the `requests` queue (version 1): how any BullMQ producer, in any
 * language, asks the worker for a rotation. docs/enqueue.md is its documentation; keep both in step.
 *
 * - queue `requests` under the configured prefix (config redis.prefix, default `rotator`; a producer
 *   must pass it, BullMQ's own default is `bull`);
 * - job name `rotate`;
 * - data: `{ "targetId": "<id>" }` or `{ "all": true }`, plus `"actor"` (required), `"reason"`
 *   (optional) and `"priority": "normal" | "urgent"` (optional, default normal), and optionally
 *   `"version": 1`;
 * - return value: `RotationRequestResult`, the rotation id of every target.
 *
 * A change that an existing producer could notice (a field removed, a meaning changed) gets a new
 * version number; the worker refuses a version it does not know. Unknown fields are refused, so a
 * misspelt field is an error rather than ignored.
 *
 * This module is imported by the package's client (src/client): it must stay free of worker code.
 */
export const REQUEST_QUEUE = 'requests';
export const REQUEST_JOB_NAME = 'rotate';
export const REQUEST_CONTRACT_VERSION = 1;
/** The worker's default redis.prefix. */
export const DEFAULT_PREFIX = 'rotator';

export const REQUEST_PRIORITIES = ['normal', 'urgent'] as const;
export type RequestPriority = (typeof REQUEST_PRIORITIES)[number];

const ACTOR_MAX = 200;
const REASON_MAX = 500;
const TARGET_ID_MAX = 64;

const common = {
  actor: z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(ACTOR_MAX, `must be at most ${ACTOR_MAX} characters`),
  reason: z
    .string({ error: 'must be a string' })
    .max(REASON_MAX, `must be at most ${REASON_MAX} characters`)
    .optional(),
  priority: z.enum(REQUEST_PRIORITIES, { error: 'must be "normal" or "urgent"' }).optional(),
  version: z
    .literal(REQUEST_CONTRACT_VERSION, {
      error: `unsupported contract version: this worker speaks version ${REQUEST_CONTRACT_VERSION}`,
    })
    .optional(),
};

const targetRequestSchema = z.strictObject({
  targetId: z
    .string({ error: 'must be a string (a target id)' })
    .min(1, 'must not be empty')
    .max(TARGET_ID_MAX, `must be at most ${TARGET_ID_MAX} characters`),
  ...common,
});
const allRequestSchema = z.strictObject({
  all: z.literal(true, { error: 'must be true' }),
  ...common,
});

/** The data of a `rotate` job on the `requests` queue. */
export type RotationRequest = z.input<typeof targetRequestSchema> | z.input<typeof allRequestSchema>;
/** A request after validation: `actor` trimmed. */
export type ValidRotationRequest = z.output<typeof targetRequestSchema> | z.output<typeof allRequestSchema>;

/** One problem with a request, naming its field. */
export interface RequestProblem {
  field: string;
  message: string;
}

/**
 * Validates a request's data; every problem names its field. Exactly one of `targetId` and `all`.
 * Pure: whether the target exists is the worker's question (it knows its config).
 */
export function parseRotationRequest(
  data: unknown,
): { ok: true; value: ValidRotationRequest } | { ok: false; problems: RequestProblem[] } {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        { field: 'data', message: 'must be a JSON object: { "targetId": "<id>", "actor": "<who>" }' },
      ],
    };
  }
  const hasTarget = 'targetId' in data;
  const hasAll = 'all' in data;
  if (hasTarget && hasAll) {
    return { ok: false, problems: [{ field: 'data', message: 'give either "targetId" or "all", not both' }] };
  }
  if (!hasTarget && !hasAll) {
    // a misspelt "targetId" shows up as an unknown field beside the missing one
    const known = new Set(['actor', 'reason', 'priority', 'version']);
    return {
      ok: false,
      problems: [
        { field: 'targetId', message: 'required (or "all": true)' },
        ...Object.keys(data)
          .filter((key) => !known.has(key))
          .map((key) => ({ field: key, message: 'unknown field' })),
      ],
    };
  }
  const parsed = hasTarget ? targetRequestSchema.safeParse(data) : allRequestSchema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems: RequestProblem[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ field: key, message: 'unknown field' });
    } else {
      problems.push({ field: issue.path.map(String).join('.') || 'data', message: issue.message });
    }
  }
  return { ok: false, problems };
}

/** "actor: required; priority: must be ..." */
export function describeProblems(problems: readonly RequestProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

/** One rotation a request asked for. */
export interface RequestedRotation {
  targetId: string;
  /** The rotation's id: the id of its job on the worker's internal `rotations` queue. */
  rotationId: string;
  /**
   * True when a rotation of the target was already waiting, delayed for a retry or running: the
   * request joined it (`rotationId` is that rotation's) instead of starting a second one.
   */
  deduplicated: boolean;
}

/** The return value of a completed `rotate` request job. Ids only, never a secret. */
export interface RotationRequestResult {
  version: typeof REQUEST_CONTRACT_VERSION;
  rotations: RequestedRotation[];
}
