import type { RedisConnection } from '../util/redis-connection.js';
import type { RotationErrorKind } from '../rotation/types.js';
import type { TargetStatus } from '../rotation/target-status.js';
import { rotatorKey } from './queues.js';

/** What Redis keeps per target for `rotator status` and the watchdog. Never a secret. */
export interface TargetState {
  /** Epoch ms when a worker first scheduled this target (the watchdog's reference before any success). */
  since?: number;
  lastOutcome?: NonNullable<TargetStatus['lastOutcome']>;
  lastErrorKind?: RotationErrorKind;
  lastFinishedAt?: number;
  lastSuccessAt?: number;
  lastRotationId?: string;
  lastVersionId?: string;
}

/** True when the target's last success (or, before any, when it was first scheduled) is too old. */
export function isOverdue(state: TargetState, allowedGapMs: number, graceMs: number, now: number): boolean {
  const reference = state.lastSuccessAt ?? state.since;
  if (reference === undefined) return false;
  return now - reference > allowedGapMs + graceMs;
}

const NUMBER_FIELDS = ['since', 'lastFinishedAt', 'lastSuccessAt'] as const;

// lastSuccessAt only moves forward, whichever worker writes last.
const RECORD_SUCCESS = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'lastSuccessAt') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'lastSuccessAt', ARGV[1]) end
redis.call('HSET', KEYS[1], 'lastOutcome', 'succeeded', 'lastFinishedAt', ARGV[1], 'lastRotationId', ARGV[2], 'lastVersionId', ARGV[3])
redis.call('HDEL', KEYS[1], 'lastErrorKind')
return 1`;

/** RECORD_SUCCESS as a command of the connection: EVALSHA, the body only after NOSCRIPT. */
type StateRedis = RedisConnection & {
  rotatorRecordSuccess(key: string, at: string, rotationId: string, versionId: string): Promise<number>;
};

export class TargetStateStore {
  private readonly scripted: StateRedis;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {
    this.scripted = redis as StateRedis;
    if (typeof this.scripted.rotatorRecordSuccess !== 'function') {
      redis.defineCommand('rotatorRecordSuccess', { numberOfKeys: 1, lua: RECORD_SUCCESS });
    }
  }

  key(targetId: string): string {
    return rotatorKey(this.prefix, 'target', targetId);
  }

  /** Notes the first time each target was scheduled (kept across restarts). */
  async markSeen(targetIds: readonly string[], now: number): Promise<void> {
    if (targetIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of targetIds) pipeline.hsetnx(this.key(id), 'since', String(now));
    await pipeline.exec();
  }

  async recordRunning(targetId: string, rotationId: string): Promise<void> {
    await this.redis.hset(this.key(targetId), { lastOutcome: 'running', lastRotationId: rotationId });
  }

  async recordSuccess(targetId: string, rotationId: string, versionId: string, at: number): Promise<void> {
    await this.scripted.rotatorRecordSuccess(this.key(targetId), String(at), rotationId, versionId);
  }

  async recordFailure(
    targetId: string,
    rotationId: string,
    kind: RotationErrorKind,
    at: number,
    retrying: boolean,
  ): Promise<void> {
    await this.redis.hset(this.key(targetId), {
      lastOutcome: retrying ? 'retrying' : 'failed',
      lastErrorKind: kind,
      lastFinishedAt: String(at),
      lastRotationId: rotationId,
    });
  }

  async getMany(targetIds: readonly string[]): Promise<Map<string, TargetState>> {
    const pipeline = this.redis.pipeline();
    for (const id of targetIds) pipeline.hgetall(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    const out = new Map<string, TargetState>();
    targetIds.forEach((id, i) => {
      const [err, raw] = replies[i] ?? [null, {}];
      if (err) throw err;
      out.set(id, parseState((raw ?? {}) as Record<string, string>));
    });
    return out;
  }

  async remove(targetIds: readonly string[]): Promise<void> {
    if (targetIds.length) await this.redis.del(...targetIds.map((id) => this.key(id)));
  }
}

function parseState(raw: Record<string, string>): TargetState {
  const state: TargetState = {};
  for (const field of NUMBER_FIELDS) {
    if (raw[field] !== undefined) state[field] = Number(raw[field]);
  }
  if (raw.lastOutcome) state.lastOutcome = raw.lastOutcome as TargetState['lastOutcome'];
  if (raw.lastErrorKind) state.lastErrorKind = raw.lastErrorKind as RotationErrorKind;
  if (raw.lastRotationId) state.lastRotationId = raw.lastRotationId;
  if (raw.lastVersionId) state.lastVersionId = raw.lastVersionId;
  return state;
}
