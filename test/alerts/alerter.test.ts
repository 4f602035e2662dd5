import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AlerterOptions, createAlerter } from '../../src/alerts/alerter.js';
import { createSlackSink } from '../../src/alerts/slack-sink.js';
import { createWebhookSink } from '../../src/alerts/webhook-sink.js';
import { freePort } from '../../src/util/redis-server.js';
import type { Alert, AlertSink } from '../../src/alerts/types.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogger } from './capture-logger.js';
import { type Receiver, startReceiver } from './receiver.js';
import { sampleAlert } from './sample.js';

const FAST_RETRY = { attempts: 3, initialDelay: 20, maxDelay: 50 };

describe('createAlerter', () => {
  const redis = new Redis(redisUrl());
  const prefixes: string[] = [];
  const receivers: Receiver[] = [];
  const newPrefix = () => {
    const p = uniquePrefix('alerts');
    prefixes.push(p);
    return p;
  };
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };
  const alerter = (o: Partial<AlerterOptions> & Pick<AlerterOptions, 'sinks' | 'logger'>) =>
    createAlerter({ redis, prefix: prefixes.at(-1)!, foldWindowMs: 60_000, retry: FAST_RETRY, ...o });

  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });

  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('folds repeats of one key across two alerters, then reports the count with the next alert', async () => {
    newPrefix();
    const hook = await receiver();
    const { logger, lines } = captureLogger();
    const sinks = [createWebhookSink({ url: hook.url })];
    const workerA = alerter({ sinks, logger, foldWindowMs: 500 });
    const workerB = alerter({ sinks, logger, foldWindowMs: 500 });

    await workerA.alert(sampleAlert());
    await workerA.flush();
    for (let i = 0; i < 3; i++) await workerB.alert(sampleAlert());
    await workerA.alert(sampleAlert());
    // Another incident is not folded into the first.
    await workerB.alert(sampleAlert({ key: 'css-other:auth', reason: 'auth', targetId: 'css-other' }));
    await Promise.all([workerA.flush(), workerB.flush()]);
    expect(hook.received.map((r) => (JSON.parse(r.body) as Alert).key).sort()).toEqual([
      'css-other:auth',
      'css-prod:precondition',
    ]);
    expect(lines.filter((l) => l.includes('"msg":"alert folded"'))).toHaveLength(4);

    await sleep(600);
    await workerB.alert(sampleAlert({ summary: 'again' }));
    await workerB.flush();
    expect(hook.received).toHaveLength(3);
    const third = JSON.parse(hook.received[2]!.body) as Alert;
    expect(third.summary).toBe('again');
    expect(third.details.foldedRepeats).toBe(4);
    // The counter was taken: the next window starts from zero.
    await sleep(600);
    await workerA.alert(sampleAlert());
    await workerA.flush();
    expect((JSON.parse(hook.received[3]!.body) as Alert).details.foldedRepeats).toBeUndefined();
  });

  it('returns before a slow sink answers, and retries a 500 until it gets a 200', async () => {
    newPrefix();
    let held: ServerResponse | undefined;
    const hook = await receiver((n, _req, res) => {
      if (n === 0) {
        held = res;
        return 'hang';
      }
      return 200;
    });
    const { logger, lines } = captureLogger();
    const a = alerter({ sinks: [createWebhookSink({ url: `${hook.url}/hook-path-secret` })], logger });

    await a.alert(sampleAlert());
    // alert() has returned while the receiver still holds the first request unanswered.
    await hook.waitFor(1);
    expect(held?.headersSent).toBe(false);
    held!.writeHead(500).end();

    await a.flush();
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.body).toBe(hook.received[0]!.body);
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('alert sink failed, retrying');
    expect(messages).toContain('alert delivered after retry');
    expect(messages).not.toContain('alert sink failed, giving up');
    for (const l of lines) expect(l).not.toContain('hook-path-secret');
  });

  it('does not let a hanging sink block the others or the caller, and gives up on it in bounded time', async () => {
    newPrefix();
    const hung = await receiver(() => 'hang');
    const good = await receiver();
    const never: AlertSink = { name: 'never-answers', send: () => new Promise<void>(() => {}) };
    const { logger, lines } = captureLogger();
    const a = alerter({
      sinks: [
        createWebhookSink({ url: hung.url, timeoutMs: 5_000 }),
        never,
        createWebhookSink({ url: good.url }),
      ],
      logger,
      sendTimeoutMs: 150,
      retry: { attempts: 2, initialDelay: 10, maxDelay: 10 },
    });

    await a.alert(sampleAlert());
    await good.waitFor(1);
    expect(await a.flush(10_000)).toBe(true);
    const gaveUp = lines
      .map((l) => JSON.parse(l) as { msg: string; sink?: string })
      .filter((l) => l.msg === 'alert sink failed, giving up')
      .map((l) => l.sink)
      .sort();
    expect(gaveUp).toEqual(['never-answers', `webhook ${hung.url}`]);
    expect(good.received).toHaveLength(1);
  });

  it('flush(timeout) reports false while deliveries are still under way', async () => {
    newPrefix();
    const never: AlertSink = { name: 'never-answers', send: () => new Promise<void>(() => {}) };
    const { logger } = captureLogger();
    const a = alerter({ sinks: [never], logger, sendTimeoutMs: 300, retry: { attempts: 1 } });
    await a.alert(sampleAlert());
    expect(await a.flush(20)).toBe(false);
    expect(await a.flush()).toBe(true);
  });

  it('never sends or logs a secret: not the password, the Slack URL or the HMAC key', async () => {
    newPrefix();
    const password = 'Pw-7gH!x9Lq2#Zr-unique';
    const hmacKey = 'hmac-key-8d1c2e';
    const slackPath = '/services/T000/B000/XXXXSLACKSECRET';
    const scrub = (text: string) => text.replaceAll(password, '[redacted]');
    const hook = await receiver((n) => (n === 0 ? 502 : 200));
    const slack = await receiver((n) => (n === 0 ? 500 : 200));
    const leaky: AlertSink = {
      name: 'leaky',
      send: async () => {
        throw new Error(`remote echoed the request: password=${password}`);
      },
    };
    const { logger, lines } = captureLogger();
    const a = alerter({
      sinks: [
        createWebhookSink({ url: `${hook.url}/in`, hmacKey }),
        createSlackSink({ url: `${slack.url}${slackPath}` }),
        leaky,
      ],
      logger,
      scrub,
    });
    await a.alert(
      sampleAlert({
        key: `css-prod:${password}`,
        summary: `cloud said: password ${password} is too weak`,
        details: { vendorMessage: `rejected '${password}'`, httpStatus: 400 },
      }),
    );
    await a.flush();

    const bodies = [...hook.received, ...slack.received].map((r) => r.body);
    expect(hook.received).toHaveLength(2);
    expect(slack.received).toHaveLength(2);
    // A retry is the same webhook message: same webhook-id, for the receiver to de-duplicate.
    expect(hook.received[1]!.headers['webhook-id']).toBe(hook.received[0]!.headers['webhook-id']);
    const everything = [
      ...bodies,
      ...lines,
      ...[...hook.received, ...slack.received].map((r) => JSON.stringify(r.headers)),
    ];
    for (const text of everything) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(hmacKey);
    }
    for (const l of lines) expect(l).not.toContain(slackPath);
    // Scrubbed, not dropped: the receivers and the log still got the alert.
    expect(bodies.every((b) => b.includes('[redacted]'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"alert"') && l.includes('[redacted]'))).toBe(true);
    expect(lines.some((l) => l.includes('remote echoed the request: password=[redacted]'))).toBe(true);
  });

  it('sends unfolded when Redis is unreachable, and alert() still returns', async () => {
    newPrefix();
    const hook = await receiver();
    const { logger, lines } = captureLogger();
    const dead = new Redis(await freePort(), '127.0.0.1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const a = createAlerter({
      sinks: [createWebhookSink({ url: hook.url })],
      redis: dead,
      prefix: prefixes.at(-1)!,
      foldWindowMs: 60_000,
      logger,
      redisTimeoutMs: 500,
    });
    await a.alert(sampleAlert());
    await a.alert(sampleAlert());
    await a.flush();
    expect(hook.received).toHaveLength(2);
    expect(lines.some((l) => l.includes('alert folding unavailable, sending unfolded'))).toBe(true);
    dead.disconnect();
  });

  it('delivers the next repeat when every sink gave up on the first, instead of folding it', async () => {
    newPrefix();
    // down for the first alert's three tries, then back
    const hook = await receiver((n) => (n < FAST_RETRY.attempts ? 500 : 200));
    const { logger, lines } = captureLogger();
    const a = alerter({ sinks: [createWebhookSink({ url: hook.url })], logger });

    await a.alert(sampleAlert({ summary: 'first' }));
    await a.flush();
    expect(hook.received).toHaveLength(FAST_RETRY.attempts);
    expect(lines.some((l) => l.includes('"msg":"alert sink failed, giving up"'))).toBe(true);

    // well within the 60 s fold window
    await a.alert(sampleAlert({ summary: 'second' }));
    await a.flush();
    expect(hook.received).toHaveLength(FAST_RETRY.attempts + 1);
    const second = JSON.parse(hook.received.at(-1)!.body) as Alert;
    expect(second.summary).toBe('second');
    // the undelivered one is counted as a repeat of the delivered one
    expect(second.details.foldedRepeats).toBe(1);
    expect(lines.filter((l) => l.includes('"msg":"alert folded"'))).toHaveLength(0);

    // delivered now: the window holds again
    await a.alert(sampleAlert({ summary: 'third' }));
    await a.flush();
    expect(hook.received).toHaveLength(FAST_RETRY.attempts + 1);
    expect(lines.filter((l) => l.includes('"msg":"alert folded"'))).toHaveLength(1);
  });

  it('keeps folding when at least one sink got the alert', async () => {
    newPrefix();
    const good = await receiver();
    const down = await receiver(() => 500);
    const { logger } = captureLogger();
    const a = alerter({
      sinks: [createWebhookSink({ url: down.url }), createWebhookSink({ url: good.url })],
      logger,
    });
    await a.alert(sampleAlert());
    await a.flush();
    await a.alert(sampleAlert());
    await a.flush();
    expect(good.received).toHaveLength(1);
    expect(down.received).toHaveLength(FAST_RETRY.attempts);
  });

  it('always has the log sink: critical as error, warning as warn', async () => {
    newPrefix();
    const { logger, lines } = captureLogger();
    const a = alerter({ sinks: [], logger });
    await a.alert(sampleAlert());
    await a.alert(sampleAlert({ key: 'x:overdue', severity: 'warning', reason: 'overdue', targetId: 'x' }));
    await a.flush();
    const alerts = lines.map((l) => JSON.parse(l) as { msg: string; level: number; alert?: Alert });
    const logged = alerts.filter((l) => l.msg === 'alert').map((l) => [l.level, l.alert?.reason]);
    expect(logged.sort()).toEqual([
      [40, 'overdue'],
      [50, 'precondition'],
    ]);
  });
});
