import { createHash, randomUUID } from 'node:crypto';
import type { RedisConnection } from '../util/redis-connection.js';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.js';
import { type Random, cryptoRandom } from '../core/random.js';
import { backoffDelay } from '../core/backoff.js';
import type { Scrubber } from '../log/scrubber.js';
import type { Alert, AlertSink } from './types.js';
import { LOG_SINK_NAME, createLogSink } from './log-sink.js';
import { scrubAlert } from './scrub.js';
import { AlertSinkError } from './sink-error.js';

export interface AlertRetryOptions {
  /** Tries per sink, the first included. */
  attempts: number;
  initialDelay: number;
  maxDelay: number;
}

export interface AlerterOptions {
  /** Where alerts go. A log sink is added in front when none is named 'log'. */
  sinks: AlertSink[];
  /** Shared by every worker: folding is decided here. */
  redis: RedisConnection;
  /** Key prefix (the config's redis.prefix). */
  prefix: string;
  /** Repeats of one alert key within this window are folded into the next alert after it. */
  foldWindowMs: number;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Run over every string of an alert before any sink sees it, and over logged error messages. */
  scrub?: Scrubber['scrub'];
  retry?: Partial<AlertRetryOptions>;
  /** A sink that has not answered after this long counts as failed for that try. */
  sendTimeoutMs?: number;
  /** Folding gives up on Redis after this long and sends the alert unfolded. */
  redisTimeoutMs?: number;
}

export interface Alerter {
  /**
   * Queues an alert and returns at once: folding and delivery run in the background, with retries.
   * Never rejects.
   */
  alert(alert: Alert): Promise<void>;
  /** Waits until every queued alert was delivered or given up; false if `timeoutMs` passed first. */
  flush(timeoutMs?: number): Promise<boolean>;
}

/** Folded repeats since the last sent alert of a key are reported in `details.foldedRepeats`. */
export const FOLDED_REPEATS_FIELD = 'foldedRepeats';

/**
 * KEYS[1] fold marker, KEYS[2] repeat counter; ARGV[1] window ms, ARGV[2] counter ttl ms, ARGV[3]
 * this delivery's token. First in the window: set the marker and take (and clear) the repeats
 * counted meanwhile. Otherwise: count one more repeat.
 */
const FOLD_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[1]) then
  local n = tonumber(redis.call('GET', KEYS[2]) or '0')
  redis.call('DEL', KEYS[2])
  return {1, n}
end
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {0, n}
`;

/**
 * KEYS[1] fold marker, KEYS[2] repeat counter; ARGV[1] token, ARGV[2] repeats to give back, ARGV[3]
 * counter ttl ms. A delivery that reached no sink releases its marker (only its own: the window may
 * have passed and another delivery set a new one), so the next repeat is sent, and hands its
 * repeats, itself included, back to the counter for that next alert to report.
 */
const UNFOLD_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

const REPEAT_COUNTER_TTL_MS = 30 * 86_400_000;

type FoldingRedis = RedisConnection & {
  rotatorAlertFold(
    marker: string,
    counter: string,
    windowMs: number,
    ttlMs: number,
    token: string,
  ): Promise<[number, number]>;
  rotatorAlertUnfold(
    marker: string,
    counter: string,
    token: string,
    repeats: number,
    ttlMs: number,
  ): Promise<number>;
};

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createAlerter(opts: AlerterOptions): Alerter {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? cryptoRandom;
  const scrub = opts.scrub ?? ((text: string) => text);
  const retry: AlertRetryOptions = { attempts: 4, initialDelay: 1000, maxDelay: 30_000, ...opts.retry };
  const sendTimeoutMs = opts.sendTimeoutMs ?? 15_000;
  const redisTimeoutMs = opts.redisTimeoutMs ?? 2000;
  const logger = opts.logger;
  const sinks = opts.sinks.some((s) => s.name === LOG_SINK_NAME)
    ? opts.sinks
    : [createLogSink(logger), ...opts.sinks];
  if (!Number.isFinite(opts.foldWindowMs) || opts.foldWindowMs < 1) {
    throw new RangeError(`foldWindowMs must be a number of ms >= 1, got ${opts.foldWindowMs}`);
  }
  const redis = opts.redis as FoldingRedis;
  if (typeof redis.rotatorAlertFold !== 'function') {
    redis.defineCommand('rotatorAlertFold', { numberOfKeys: 2, lua: FOLD_SCRIPT });
  }
  if (typeof redis.rotatorAlertUnfold !== 'function') {
    redis.defineCommand('rotatorAlertUnfold', { numberOfKeys: 2, lua: UNFOLD_SCRIPT });
  }
  const pending = new Set<Promise<void>>();
  const errorText = (err: unknown) => scrub(err instanceof Error ? err.message : String(err));

  interface Fold {
    send: boolean;
    /** Repeats folded since the last sent one. */
    repeats: number;
    /** Set when this delivery holds the fold marker (Redis answered). */
    marker?: { key: string; counter: string; token: string };
  }

  /** Send it, or fold it into the next one? Fails open: without Redis, send. */
  async function fold(alert: Alert): Promise<Fold> {
    const id = createHash('sha256').update(alert.key).digest('hex').slice(0, 32);
    const marker = {
      key: `${opts.prefix}:alerts:fold:${id}`,
      counter: `${opts.prefix}:alerts:repeats:${id}`,
      token: randomUUID(),
    };
    try {
      const [first, n] = await withTimeout(
        redis.rotatorAlertFold(
          marker.key,
          marker.counter,
          Math.ceil(opts.foldWindowMs),
          REPEAT_COUNTER_TTL_MS,
          marker.token,
        ),
        redisTimeoutMs,
        'redis',
      );
      return first === 1 ? { send: true, repeats: n, marker } : { send: false, repeats: n };
    } catch (err) {
      logger.warn(
        { alertKey: alert.key, error: errorText(err) },
        'alert folding unavailable, sending unfolded',
      );
      return { send: true, repeats: 0 };
    }
  }

  /** No sink but the log got it: the next repeat must not be folded into an alert nobody saw. */
  async function unfold(alert: Alert, f: Fold): Promise<void> {
    if (!f.marker) return;
    try {
      await withTimeout(
        redis.rotatorAlertUnfold(
          f.marker.key,
          f.marker.counter,
          f.marker.token,
          f.repeats + 1,
          REPEAT_COUNTER_TTL_MS,
        ),
        redisTimeoutMs,
        'redis',
      );
      logger.warn({ alertKey: alert.key }, 'alert reached no sink; its next repeat will be sent');
    } catch (err) {
      logger.error(
        { alertKey: alert.key, error: errorText(err) },
        'alert reached no sink and its fold marker could not be released',
      );
    }
  }

  /** True once the sink took the alert; false when it gave up. */
  async function deliver(sink: AlertSink, alert: Alert): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await withTimeout(sink.send(alert), sendTimeoutMs, sink.name);
        if (attempt > 1)
          logger.info({ sink: sink.name, alertKey: alert.key, attempt }, 'alert delivered after retry');
        return true;
      } catch (err) {
        const retryable = !(err instanceof AlertSinkError) || err.retryable;
        const fields = { sink: sink.name, alertKey: alert.key, attempt, error: errorText(err) };
        if (!retryable || attempt >= retry.attempts) {
          logger.error(fields, 'alert sink failed, giving up');
          return false;
        }
        const delayMs = backoffDelay({
          attempt,
          initialDelay: retry.initialDelay,
          maxDelay: retry.maxDelay,
          random,
        });
        logger.warn({ ...fields, delayMs }, 'alert sink failed, retrying');
        await clock.sleep(delayMs);
      }
    }
  }

  async function handle(raw: Alert): Promise<void> {
    const alert = scrubAlert(raw, scrub);
    const f = await fold(alert);
    if (!f.send) {
      logger.info(
        { alertKey: alert.key, repeats: f.repeats, reason: alert.reason, targetId: alert.targetId },
        'alert folded',
      );
      return;
    }
    if (f.repeats > 0) alert.details = { ...alert.details, [FOLDED_REPEATS_FIELD]: f.repeats };
    const delivered = await Promise.all(sinks.map((sink) => deliver(sink, alert)));
    const others = sinks.map((s, i) => [s.name, delivered[i]] as const).filter(([n]) => n !== LOG_SINK_NAME);
    if (others.length > 0 && others.every(([, ok]) => !ok)) await unfold(alert, f);
  }

  return {
    async alert(alert) {
      // handle() is async: even a synchronous throw inside it becomes this rejection.
      const task = handle(alert).catch((err: unknown) => {
        logger.error({ error: errorText(err) }, 'alert processing failed');
      });
      pending.add(task);
      void task.finally(() => pending.delete(task));
    },
    async flush(timeoutMs) {
      const all = (async () => {
        while (pending.size > 0) await Promise.allSettled([...pending]);
      })();
      if (timeoutMs === undefined) {
        await all;
        return true;
      }
      return withTimeout(all, timeoutMs, 'flush').then(
        () => true,
        () => false,
      );
    },
  };
}
