import { type Clock, systemClock } from '../core/clock.js';
import type { AlertSink } from '../worker/types.js';
import { originOf, postJson } from './post-json.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from './sign.js';

export interface WebhookSinkOptions {
  /** Resolved URL. Only its origin is ever logged. */
  url: string;
  /** Resolved HMAC key; when set, every POST carries X-Rotator-Signature. */
  hmacKey?: string | undefined;
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/**
 * POSTs the alert as JSON. With an HMAC key: `X-Rotator-Signature: sha256=<hex HMAC-SHA256 of the
 * exact body>`. `X-Rotator-Timestamp` is the send time in Unix seconds; it is not signed (the body's
 * own `at` is), and it changes between retries of one alert.
 */
export function createWebhookSink(opts: WebhookSinkOptions): AlertSink {
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const label = `webhook ${originOf(opts.url)}`;
  return {
    name: label,
    async send(alert) {
      const body = JSON.stringify(alert);
      const headers: Record<string, string> = {
        [TIMESTAMP_HEADER]: String(Math.floor(clock.now() / 1000)),
      };
      if (opts.hmacKey) headers[SIGNATURE_HEADER] = signBody(body, opts.hmacKey);
      await postJson({ fetch: fetchImpl, url: opts.url, body, headers, timeoutMs, label });
    },
  };
}
