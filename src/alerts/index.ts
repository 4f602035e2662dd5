export { type Alerter, type AlerterOptions, FOLDED_REPEATS_FIELD, createAlerter } from './alerter.js';
export { type AlertSinkDeps, buildAlertSinks } from './from-config.js';
export { LOG_SINK_NAME, createLogSink } from './log-sink.js';
export { scrubAlert } from './scrub.js';
export {
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signWebhook,
  webhookKey,
  webhookMessageId,
} from './sign.js';
export { AlertSinkError } from './sink-error.js';
export { type SlackPayload, createSlackSink, slackPayload } from './slack-sink.js';
export { type WebhookSinkOptions, createWebhookSink } from './webhook-sink.js';
