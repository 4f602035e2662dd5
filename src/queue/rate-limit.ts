import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../util/redis-connection.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { RateLimit, RateLimiter } from '../util/rate-limit.js';

export interface RateLimiterOptions {
  /** Key prefix, e.g. the config's redis.prefix; keys are `<prefix>:ratelimit:<key>`. */
  prefix: string;
  /** Used only to sleep between tries (time itself comes from the Redis server). */
  clock?: Clock;
  /**
   * Extra window, in ms, for a limit of `per` ms: grants are spaced as if the window were
   * `per + guard`. The cloud counts calls when they ARRIVE, and network or event-loop delay between
   * our grant and the arrival can bunch calls granted apart; the guard absorbs that jitter so the
   * cloud never sees more than `max` in its window. Default: 10% of `per`, at least 50 ms.
   */
  guardMs?: (per: number) => number;
}

export const defaultGuardMs = (per: number): number => Math.max(50, Math.round(per * 0.1));

/**
 * Sliding-window log in one sorted set per key, scored by the Redis server's own clock (TIME), so
 * worker processes on hosts with skewed clocks still share one timeline. Entries older than the
 * window are trimmed; a call is granted only if fewer than `max` remain, so any window of `per` ms
 * ending at a grant holds at most `max` grants. When full, the script returns how long until the
 * oldest entry leaves the window. Atomic: Redis runs a script without interleaving.
 *
 * With a spacing (RateLimit.spread) the script reserves instead: the caller's slot is one spacing
 * after the last slot handed out (or now), and the caller waits for it without asking again. Slots
 * spaced (per + guard) / max apart keep any window of `per + guard` at `max` or fewer, and cost
 * one script call per grant however many callers wait.
 *
 * Needs Redis >= 5 (scripts replicate their effects, so calling TIME before a write is allowed).
 */
const ACQUIRE_SCRIPT = `
local key = KEYS[1]
local max = tonumber(ARGV[1])
local windowUs = tonumber(ARGV[2]) * 1000
local member = ARGV[3]
local spacingUs = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowUs)
local count = redis.call('ZCARD', key)
if spacingUs > 0 then
  local slot = now
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then slot = math.max(now, tonumber(last[2]) + spacingUs) end
  redis.call('ZADD', key, slot, member .. ':' .. string.format('%.0f', slot))
  redis.call('PEXPIRE', key, math.ceil((slot - now) / 1000) + tonumber(ARGV[2]) + 1000)
  return {2, slot, slot - now}
end
if count < max then
  redis.call('ZADD', key, now, member .. ':' .. string.format('%.0f', now))
  redis.call('PEXPIRE', key, tonumber(ARGV[2]) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
return {0, tonumber(oldest[2]) + windowUs - now}
`;

type ScriptedRedis = RedisConnection & {
  /**
   * [1, grant time in µs], [2, reserved slot in µs, µs until it] or [0, µs until a slot frees];
   * integers (Lua numbers become integer replies).
   */
  rotatorRateLimitAcquire(
    key: string,
    max: number,
    per: number,
    member: string,
    spacingUs: number,
  ): Promise<[number, number, number?]>;
};

function validate(key: string, limit: RateLimit): void {
  if (key.length === 0) throw new RangeError('rate limit key must not be empty');
  if (!Number.isInteger(limit.max) || limit.max < 1) {
    throw new RangeError(`rateLimit.max must be an integer >= 1, got ${limit.max}`);
  }
  if (!Number.isInteger(limit.per) || limit.per < 1) {
    throw new RangeError(`rateLimit.per must be an integer number of ms >= 1, got ${limit.per}`);
  }
}

export function createRateLimiter(redis: RedisConnection, options: RateLimiterOptions): RateLimiter {
  const clock = options.clock ?? systemClock;
  const guardMs = options.guardMs ?? defaultGuardMs;
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.rotatorRateLimitAcquire !== 'function') {
    redis.defineCommand('rotatorRateLimitAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
  }
  return {
    async acquire(key, limit, signal) {
      validate(key, limit);
      const redisKey = `${options.prefix}:ratelimit:${key}`;
      // Unique per call; the script appends the grant time, so a member never repeats.
      const member = randomUUID();
      for (;;) {
        signal?.throwIfAborted();
        const window = limit.per + guardMs(limit.per);
        const spacingUs = limit.spread ? Math.floor((window * 1000) / limit.max) : 0;
        const [granted, us, waitUs = 0] = await scripted.rotatorRateLimitAcquire(
          redisKey,
          limit.max,
          window,
          member,
          spacingUs,
        );
        if (granted === 1) return us / 1000;
        // 2: a slot reserved for this call (spread); wait for it. 0: wake when the oldest entry
        // leaves the window, +1 ms so we are not a hair early, and ask again.
        try {
          if (granted === 2) {
            if (waitUs > 0) {
              await clock.sleep(Math.ceil(waitUs / 1000), signal).catch(async (err: unknown) => {
                // Not used: give the slot back (best effort; a slot left unused only slows others).
                await redis.zrem(redisKey, `${member}:${us}`).catch(() => 0);
                throw err;
              });
            }
            return us / 1000;
          }
          await clock.sleep(Math.max(1, Math.ceil(us / 1000) + 1), signal);
        } catch (err) {
          // node:timers/promises rejects with a generic AbortError; callers expect the signal's reason.
          if (signal?.aborted) throw signal.reason;
          throw err;
        }
      }
    },
  };
}
