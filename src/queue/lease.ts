import type { RedisConnection } from '../util/redis-connection.js';
import { rotatorKey } from './queues.js';

/**
 * One run per target at a time, whatever bypassed the queue's deduplication (a dashboard retry, a
 * job added by hand, a job still running in memory while Redis restarted): the run holds a lease
 * on its target in Redis for as long as it lives, renewed every third of `ttlMs`. A holder that
 * dies stops renewing and the lease expires after at most `ttlMs`.
 *
 * Each grant carries a fencing token (a per-target counter that only grows). The run checks that
 * the lease still names its token before every store write and before the reset call, so a run
 * that lost its lease (paused past the expiry, say) cannot write over the run that took it over.
 */
export interface Lease {
  readonly targetId: string;
  /** The fencing token of this grant. */
  readonly token: number;
  /** True while this grant is still the target's lease. */
  check(): Promise<boolean>;
  /** Extends the grant by the lease time; false when it was lost. */
  renew(): Promise<boolean>;
  /** Gives the lease up (only this grant: a later holder's lease is left alone). */
  release(): Promise<void>;
}

export type LeaseAttempt = { acquired: true; lease: Lease } | { acquired: false; retryInMs: number };

// KEYS[1] lease, KEYS[2] fencing counter; ARGV[1] holder, ARGV[2] ttl ms.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {1, token}`;

// KEYS[1] lease; ARGV[1] value, ARGV[2] ttl ms.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export const DEFAULT_LEASE_MS = 30_000;

/**
 * The scripts as commands of the connection (as rate-limit.ts does): ioredis sends EVALSHA, and
 * the script body only when the server answers NOSCRIPT, instead of the whole body with every EVAL.
 */
type LeaseRedis = RedisConnection & {
  /** [1, fencing token] or [0, ms until the lease expires]. */
  rotatorLeaseAcquire(
    key: string,
    fenceKey: string,
    holder: string,
    ttlMs: string,
  ): Promise<[number, number]>;
  rotatorLeaseRenew(key: string, value: string, ttlMs: string): Promise<number>;
  rotatorLeaseRelease(key: string, value: string): Promise<number>;
};

function withLeaseCommands(redis: RedisConnection): LeaseRedis {
  const scripted = redis as LeaseRedis;
  if (typeof scripted.rotatorLeaseAcquire !== 'function') {
    redis.defineCommand('rotatorLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('rotatorLeaseRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('rotatorLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return scripted;
}

export class TargetLeases {
  private readonly scripted: LeaseRedis;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    /** How long a lease lives without renewal. */
    readonly ttlMs: number = DEFAULT_LEASE_MS,
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs < 1_000) throw new RangeError('lease ttlMs must be at least 1000');
    this.scripted = withLeaseCommands(redis);
  }

  key(targetId: string): string {
    return rotatorKey(this.prefix, 'lease', targetId);
  }

  private fenceKey(targetId: string): string {
    return rotatorKey(this.prefix, 'lease-fence', targetId);
  }

  /** Takes the target's lease for `holder` (a rotation id), or says how long until it may be free. */
  async acquire(targetId: string, holder: string): Promise<LeaseAttempt> {
    const key = this.key(targetId);
    const [ok, n] = await this.scripted.rotatorLeaseAcquire(
      key,
      this.fenceKey(targetId),
      holder,
      String(this.ttlMs),
    );
    if (ok !== 1) return { acquired: false, retryInMs: n > 0 ? n : this.ttlMs };
    const value = `${holder}|${n}`;
    const { redis, scripted, ttlMs } = this;
    return {
      acquired: true,
      lease: {
        targetId,
        token: n,
        check: async () => (await redis.get(key)) === value,
        renew: async () => (await scripted.rotatorLeaseRenew(key, value, String(ttlMs))) === 1,
        release: async () => {
          await scripted.rotatorLeaseRelease(key, value);
        },
      },
    };
  }

  /** Whether any run in this Redis holds the target's lease. */
  async isHeld(targetId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(targetId))) === 1;
  }
}
