import { type Clock, systemClock } from '../core/clock.js';
import type { AlertSink } from './types.js';
import { originOf, postJson } from './post-json.js';
import {
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signWebhook,
  webhookKey,
  webhookMessageId,
} from './sign.js';

export interface WebhookSinkOptions {
  /** Resolved URL. Only its origin is ever logged. */
  url: string;
  /** Resolved signing secret (`whsec_<base64>` or a raw string, see webhookKey); without it, no signature. */
  hmacKey?: string | undefined;
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/**
 * POSTs the alert as JSON in the Standard Webhooks format: `webhook-id` (the same for every retry
 * of one alert), `webhook-timestamp` (this attempt's time, Unix seconds) and, with a key,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
 * Throws at once when the key is malformed.
 */
export function createWebhookSink(opts: WebhookSinkOptions): AlertSink {
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const label = `webhook ${originOf(opts.url)}`;
  const key = opts.hmacKey ? webhookKey(opts.hmacKey) : undefined;
  return {
    name: label,
    async send(alert) {
      const body = JSON.stringify(alert);
      const id = webhookMessageId(body);
      const timestamp = Math.floor(clock.now() / 1000);
      const headers: Record<string, string> = {
        [WEBHOOK_ID_HEADER]: id,
        [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
      };
      if (key) headers[WEBHOOK_SIGNATURE_HEADER] = signWebhook(key, id, timestamp, body);
      await postJson({ fetch: fetchImpl, url: opts.url, body, headers, timeoutMs, label });
    },
  };
}
