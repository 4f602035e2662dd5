import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook, webhookKey } from '../../src/alerts/sign.js';
import { AlertSinkError } from '../../src/alerts/sink-error.js';
import { createWebhookSink } from '../../src/alerts/webhook-sink.js';
import { manualClock } from '../../src/core/clock.js';
import { type Receiver, startReceiver } from './receiver.js';
import { sampleAlert } from './sample.js';

/**
 * A receiver's check, written from the Standard Webhooks spec (1.0.0, "Verifying webhook
 * authenticity") and not from our signer: the secret is `whsec_` + base64 of the key; the signed
 * content is `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` is a space-delimited list
 * of `v1,<base64 HMAC-SHA256>` (other versions ignored), compared in constant time; a timestamp more
 * than the tolerance (the reference libraries use 5 minutes) from now is refused.
 */
function standardWebhooksVerify(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): 'ok' | 'missing headers' | 'bad timestamp' | 'stale' | 'no matching signature' {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    return 'missing headers';
  }
  if (!/^\d+$/.test(timestamp)) return 'bad timestamp';
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return 'stale';
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(
    createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64'),
  );
  for (const versioned of signatures.split(' ')) {
    const [version, signature] = versioned.split(',');
    if (version !== 'v1' || signature === undefined) continue;
    const given = Buffer.from(signature);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return 'ok';
  }
  return 'no matching signature';
}

// The reference JavaScript library's own test vector (standard-webhooks libraries/javascript).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signature', () => {
  it('the test verifier accepts the reference vector, and the signer reproduces it', () => {
    const headers = {
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    };
    expect(standardWebhooksVerify(VECTOR.secret, headers, VECTOR.body, VECTOR.timestamp)).toBe('ok');
    expect(standardWebhooksVerify(VECTOR.secret, headers, `${VECTOR.body} `, VECTOR.timestamp)).toBe(
      'no matching signature',
    );
    expect(signWebhook(webhookKey(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(
      VECTOR.signature,
    );
  });

  it('maps a raw secret to its UTF-8 bytes: the same key as whsec_ + base64 of it', () => {
    const raw = 'a-legacy-hmac-key-with-no-prefix';
    const whsec = `whsec_${Buffer.from(raw).toString('base64')}`;
    expect(webhookKey(raw)).toEqual(webhookKey(whsec));
    expect(webhookKey(raw).toString('utf8')).toBe(raw);
  });

  it('refuses a whsec_ secret that is not base64 or is shorter than 24 bytes, without echoing it', () => {
    const cases = [
      ['whsec_', /followed by standard base64/],
      ['whsec_not*base64!', /followed by standard base64/],
      ['whsec_c2hvcnQ=', /at least 24 bytes, got 5/],
      [`whsec_${Buffer.alloc(23, 7).toString('base64')}`, /at least 24 bytes, got 23/],
    ] as const;
    for (const [secret, message] of cases) {
      let err: Error | undefined;
      try {
        webhookKey(secret);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message, secret).toMatch(message);
      if (secret.length > 6) expect(err?.message).not.toContain(secret.slice(6));
    }
    expect(webhookKey(`whsec_${Buffer.alloc(24, 7).toString('base64')}`)).toHaveLength(24);
  });
});

describe('webhook sink', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('POSTs the alert as JSON with Standard Webhooks headers that an independent verifier accepts', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const sentAt = Date.UTC(2026, 0, 2, 3, 4, 30) / 1000;
    receiver = await startReceiver((_, req) =>
      standardWebhooksVerify(secret, req.headers, req.body, sentAt) === 'ok' ? 204 : 401,
    );
    const clock = manualClock(sentAt * 1000);
    const sink = createWebhookSink({
      url: `${receiver.url}/hooks/rotator?token=abc`,
      hmacKey: secret,
      clock,
    });
    const alert = sampleAlert();
    await sink.send(alert);

    const [req] = receiver.received;
    const { headers, body } = req!;
    expect(req!.path).toBe('/hooks/rotator?token=abc');
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toEqual(alert);
    expect(headers['webhook-timestamp']).toBe(String(sentAt));
    expect(headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    // No legacy headers any more.
    expect(headers['x-rotator-signature']).toBeUndefined();
    expect(headers['x-rotator-timestamp']).toBeUndefined();

    const verify = (h: IncomingHttpHeaders, b: string, now = sentAt) =>
      standardWebhooksVerify(secret, h, b, now);
    expect(verify(headers, body)).toBe('ok');
    // Within the tolerance a little later; stale after it, and from the future too.
    expect(verify(headers, body, sentAt + 300)).toBe('ok');
    expect(verify(headers, body, sentAt + 301)).toBe('stale');
    expect(verify(headers, body, sentAt - 301)).toBe('stale');
    // A tampered body, a wrong key, another id.
    expect(verify(headers, body.replace('css-prod', 'css-test'))).toBe('no matching signature');
    expect(verify(headers, `${body} `)).toBe('no matching signature');
    const otherKey = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;
    expect(standardWebhooksVerify(otherKey, headers, body, sentAt)).toBe('no matching signature');
    expect(verify({ ...headers, 'webhook-id': 'msg_other' }, body)).toBe('no matching signature');
    // The timestamp is signed: a replay with a fresh timestamp fails.
    const later = sentAt + 3600;
    expect(verify({ ...headers, 'webhook-timestamp': String(later) }, body, later)).toBe(
      'no matching signature',
    );
    // The sink's name (what gets logged) carries the origin only, not the path or query.
    expect(sink.name).toBe(`webhook ${receiver.url}`);
  });

  it('keeps the id across attempts of one alert; a new attempt gets its own timestamp, signed', async () => {
    const secret = 'raw-legacy-key-0f3c9a';
    receiver = await startReceiver();
    const clock = manualClock(Date.UTC(2026, 0, 2, 3, 0, 0));
    const sink = createWebhookSink({ url: receiver.url, hmacKey: secret, clock });
    const alert = sampleAlert();
    await sink.send(alert);
    clock.advance(65_000);
    await sink.send(alert);
    await sink.send(sampleAlert({ at: alert.at + 1 }));
    const [first, retry, other] = receiver.received;
    expect(retry!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(other!.headers['webhook-id']).not.toBe(first!.headers['webhook-id']);
    expect(Number(retry!.headers['webhook-timestamp'])).toBe(
      Number(first!.headers['webhook-timestamp']) + 65,
    );
    // A raw secret is verified as whsec_ + base64 of it.
    const asWhsec = `whsec_${Buffer.from(secret).toString('base64')}`;
    for (const r of [first!, retry!, other!]) {
      const now = Number(r.headers['webhook-timestamp']);
      expect(standardWebhooksVerify(asWhsec, r.headers, r.body, now)).toBe('ok');
    }
  });

  it('sends id and timestamp but no signature without a key', async () => {
    receiver = await startReceiver();
    await createWebhookSink({ url: receiver.url }).send(sampleAlert());
    const { headers } = receiver.received[0]!;
    expect(headers['webhook-signature']).toBeUndefined();
    expect(headers['webhook-id']).toMatch(/^msg_/);
    expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
  });

  it('fails with a retryable error on 5xx and a final one on 4xx, naming neither path nor query', async () => {
    const statuses = [503, 404, 429, 302];
    receiver = await startReceiver((n) => statuses[n]!);
    const sink = createWebhookSink({ url: `${receiver.url}/secret-path-part?sig=xyz` });
    const errors: AlertSinkError[] = [];
    for (let i = 0; i < statuses.length; i++) {
      errors.push(
        await sink.send(sampleAlert()).then(
          () => expect.unreachable(),
          (e: AlertSinkError) => e,
        ),
      );
    }
    expect(errors.map((e) => [e.status, e.retryable])).toEqual([
      [503, true],
      [404, false],
      [429, true],
      [302, false],
    ]);
    for (const e of errors) {
      expect(e).toBeInstanceOf(AlertSinkError);
      expect(e.message).not.toMatch(/secret-path-part|sig=xyz/);
    }
  });

  it('gives up on a receiver that never answers, within its timeout', async () => {
    receiver = await startReceiver(() => 'hang');
    const sink = createWebhookSink({ url: `${receiver.url}/x`, timeoutMs: 200 });
    const err = await sink.send(sampleAlert()).then(
      () => expect.unreachable(),
      (e: AlertSinkError) => e,
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/no answer within 200 ms/);
  });

  it('reports a refused connection by its code', async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    const err = await createWebhookSink({ url: `${url}/p?q=1` })
      .send(sampleAlert())
      .then(
        () => expect.unreachable(),
        (e: AlertSinkError) => e,
      );
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toMatch(/q=1/);
  });
});
