import { type Job, UnrecoverableError } from 'bullmq';
import type { AuditEvent, AuditSink, RequestRefusal } from '../src/audit/types.js';
import {
  describeProblems,
  parseRotationRequest,
  REQUEST_CONTRACT_VERSION,
  REQUEST_JOB_NAME,
  type RotationRequestResult,
} from '../src/requests/contract.js';
import type { RotationControl } from '../src/queue/control.js';
import type { WorkerLogger } from './rotate-target.js';

export interface RequestContext {
  /** Every target of the config (enabled or not): a request for a disabled one is refused as such. */
  targets: ReadonlyMap<string, { provider: string; enabled: boolean }>;
  /** The deduplicated enqueue the CLI and the HTTP API use. */
  rotate: RotationControl['rotate'];
  audit: AuditSink;
  logger: WorkerLogger;
  /** Removes live secrets from free text (the requester's reason) before it is logged. */
  scrub?: (text: string) => string;
  /** Appends rows to a job's log on the requests queue in one round trip (default: job.log per row). */
  writeRequestLog?: (jobId: string, rows: string[]) => Promise<unknown>;
  /** Appends a row to a rotation job's log (a joined rotation notes who else asked for it). */
  writeRotationLog?: (rotationId: string, row: string) => Promise<unknown>;
}

/** How much of a field of a refused request is echoed (it may be anything). */
const ECHO_MAX = 64;

/** A string field of data that failed validation, cut short; undefined when it is not a string. */
function echo(data: unknown, field: string, max = ECHO_MAX): string | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const v = (data as Record<string, unknown>)[field];
  return typeof v === 'string' ? v.trim().slice(0, max) : undefined;
}

/**
 * The processor of the `requests` queue (the public contract, src/requests/contract.ts): validates
 * the job, then makes the same deduplicated rotation(s) as `rotator rotate`, with trigger `queue` and
 * the request's actor, reason and priority. Returns the rotation ids. A bad request (wrong job name,
 * wrong shape, unknown or disabled target) is recorded in the audit trail as refused and fails with
 * an UnrecoverableError naming the field, so BullMQ does not retry it; nothing is enqueued.
 */
export function createRequestProcessor(ctx: RequestContext) {
  const scrub = ctx.scrub ?? ((t: string) => t);
  return async function processRequest(
    job: Job<unknown, RotationRequestResult>,
  ): Promise<RotationRequestResult> {
    const requestId = job.id ?? '';
    const writeLog = (rows: string[]) =>
      (ctx.writeRequestLog
        ? ctx.writeRequestLog(requestId, rows)
        : rows.reduce<Promise<unknown>>((p, row) => p.then(() => job.log(row)), Promise.resolve())
      ).catch((err: unknown) =>
        ctx.logger.warn(
          { request: requestId, error: scrub(String((err as Error)?.message ?? err)).slice(0, 300) },
          'request job log could not be written',
        ),
      );

    const refuse = async (kind: RequestRefusal, message: string, targetId = ''): Promise<never> => {
      const reason = echo(job.data, 'reason', 500);
      const event: AuditEvent = {
        type: 'request-refused',
        rotationId: '',
        targetId,
        provider: ctx.targets.get(targetId)?.provider ?? '',
        trigger: 'queue',
        actor: echo(job.data, 'actor', 200) ?? '',
        ...(reason !== undefined ? { reason } : {}),
        request: requestId,
        attempt: 0,
        outcome: 'refused',
        errorKind: kind,
        detail: message,
      };
      try {
        await ctx.audit.append(event);
      } catch (err) {
        ctx.logger.error(
          { request: requestId, error: scrub(String((err as Error)?.message ?? err)).slice(0, 300) },
          'refused request could not be recorded in the audit trail',
        );
      }
      await writeLog([`refused: ${message}`]);
      ctx.logger.warn({ request: requestId, kind, targetId, detail: message }, 'rotation request refused');
      throw new UnrecoverableError(message);
    };

    if (job.name !== REQUEST_JOB_NAME) {
      return refuse(
        'unknown-job-name',
        `job name: unknown job name ${JSON.stringify(job.name.slice(0, ECHO_MAX))}; the requests queue takes "${REQUEST_JOB_NAME}" jobs only`,
        echo(job.data, 'targetId'),
      );
    }
    const parsed = parseRotationRequest(job.data);
    if (!parsed.ok) {
      const problems = parsed.problems.map((p) => ({ ...p, field: p.field.slice(0, ECHO_MAX) }));
      return refuse(
        'invalid-request',
        `invalid request: ${describeProblems(problems)}`,
        echo(job.data, 'targetId'),
      );
    }
    const request = parsed.value;
    if ('targetId' in request) {
      const target = ctx.targets.get(request.targetId);
      if (!target) {
        return refuse(
          'unknown-target',
          `targetId: unknown target ${JSON.stringify(request.targetId)}`,
          request.targetId,
        );
      }
      if (!target.enabled) {
        return refuse(
          'disabled-target',
          `targetId: target ${JSON.stringify(request.targetId)} is disabled in the worker's config`,
          request.targetId,
        );
      }
    }
    const priority = request.priority ?? 'normal';
    const enqueued = await ctx.rotate({
      targets: 'targetId' in request ? [request.targetId] : 'all',
      trigger: 'queue',
      actor: request.actor,
      ...(request.reason !== undefined ? { reason: request.reason } : {}),
      priority,
    });

    const reasonText =
      request.reason !== undefined ? `, reason ${JSON.stringify(scrub(request.reason))}` : '';
    const rows = [
      `accepted: ${'targetId' in request ? request.targetId : 'all targets'} from ${request.actor}${reasonText} (${priority})`,
      ...enqueued.map(
        (e) =>
          `${e.targetId}: ${e.deduplicated ? 'joined the rotation already queued' : 'rotation'} ${e.jobId}`,
      ),
    ];
    await Promise.all([
      writeLog(rows),
      ...enqueued
        .filter((e) => e.deduplicated && ctx.writeRotationLog)
        .map((e) =>
          ctx.writeRotationLog!(
            e.jobId,
            `joined by a queue request from ${request.actor}${reasonText} (${priority}, request ${requestId})`,
          ).catch(() => undefined),
        ),
      // one group commit for all of them
      ...enqueued.map((e) =>
        ctx.audit
          .append({
            type: 'rotation-requested',
            rotationId: e.jobId,
            targetId: e.targetId,
            provider: ctx.targets.get(e.targetId)?.provider ?? '',
            trigger: 'queue',
            actor: request.actor,
            ...(request.reason !== undefined ? { reason: request.reason } : {}),
            request: requestId,
            attempt: 0,
            outcome: e.deduplicated ? 'joined' : 'enqueued',
            detail: `${priority}${e.deduplicated ? ': joined the rotation already queued or running' : ''}`,
          })
          .catch((err: unknown) =>
            // the rotation is queued and audits itself; only this request's record is missing
            ctx.logger.error(
              {
                request: requestId,
                targetId: e.targetId,
                error: scrub(String((err as Error)?.message ?? err)).slice(0, 300),
              },
              'accepted request could not be recorded in the audit trail',
            ),
          ),
      ),
    ]);
    ctx.logger.info(
      {
        request: requestId,
        actor: request.actor,
        priority,
        rotations: enqueued.length,
        joined: enqueued.filter((e) => e.deduplicated).length,
      },
      'rotation requested on the requests queue',
    );
    return {
      version: REQUEST_CONTRACT_VERSION,
      rotations: enqueued.map((e) => ({
        targetId: e.targetId,
        rotationId: e.jobId,
        deduplicated: e.deduplicated,
      })),
    };
  };
}
