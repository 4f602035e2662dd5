import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/alerts/sign.js';
import { AlertSinkError } from '../../src/alerts/sink-error.js';
import { createWebhookSink } from '../../src/alerts/webhook-sink.js';
import { manualClock } from '../../src/core/clock.js';
import { type Receiver, startReceiver } from './receiver.js';
import { sampleAlert } from './sample.js';

describe('webhook sink', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('POSTs the alert as JSON with an HMAC of the exact body that the receiver verifies', async () => {
    const key = 'hmac-key-for-the-test';
    receiver = await startReceiver((_, req) => {
      // The receiver checks the signature itself, independently of signBody.
      const expected = `sha256=${createHmac('sha256', key).update(req.body).digest('hex')}`;
      return req.headers['x-rotator-signature'] === expected ? 204 : 401;
    });
    const clock = manualClock(Date.UTC(2026, 0, 2, 3, 4, 30));
    const sink = createWebhookSink({ url: `${receiver.url}/hooks/rotator?token=abc`, hmacKey: key, clock });
    const alert = sampleAlert();
    await sink.send(alert);

    const [req] = receiver.received;
    expect(req!.path).toBe('/hooks/rotator?token=abc');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body)).toEqual(alert);
    expect(req!.headers['x-rotator-timestamp']).toBe(String(Date.UTC(2026, 0, 2, 3, 4, 30) / 1000));
    expect(verifySignature(req!.body, key, req!.headers['x-rotator-signature'] as string)).toBe(true);
    expect(verifySignature(req!.body, 'wrong-key', req!.headers['x-rotator-signature'] as string)).toBe(
      false,
    );
    expect(verifySignature(`${req!.body} `, key, req!.headers['x-rotator-signature'] as string)).toBe(false);
    // The sink's name (what gets logged) carries the origin only, not the path or query.
    expect(sink.name).toBe(`webhook ${receiver.url}`);
  });

  it('sends no signature without a key', async () => {
    receiver = await startReceiver();
    await createWebhookSink({ url: receiver.url }).send(sampleAlert());
    expect(receiver.received[0]!.headers['x-rotator-signature']).toBeUndefined();
    expect(receiver.received[0]!.headers['x-rotator-timestamp']).toMatch(/^\d+$/);
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
