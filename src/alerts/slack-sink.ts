import type { Alert, AlertSink } from './types.js';
import { postJson } from './post-json.js';

export interface SlackSinkOptions {
  /** Resolved incoming-webhook URL. It is a credential: never logged, not even its path. */
  url: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

export interface SlackPayload {
  text: string;
  blocks?: SlackBlock[];
}

/** Slack's mrkdwn treats &, < and > as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Detail fields shown as Slack fields, in order; the first key present wins. */
const DETAIL_FIELDS: { label: string; keys: string[] }[] = [
  { label: 'Kind', keys: ['kind', 'errorKind'] },
  { label: 'HTTP status', keys: ['httpStatus', 'status'] },
  { label: 'Vendor code', keys: ['vendorCode'] },
  { label: 'Request id', keys: ['requestId'] },
  { label: 'Version id', keys: ['versionId'] },
  { label: 'Repeats folded', keys: ['foldedRepeats'] },
];

/** Pure: the incoming-webhook payload for an alert (a `text` fallback plus Block Kit blocks). */
export function slackPayload(alert: Alert): SlackPayload {
  const sev = alert.severity === 'critical' ? 'CRITICAL' : 'warning';
  const text = clip(`[${sev}] secret-rotator ${alert.reason} on ${alert.targetId}: ${alert.summary}`, 3000);
  const fields: SlackText[] = [
    { type: 'mrkdwn', text: `*Target*\n${escapeMrkdwn(alert.targetId)}` },
    { type: 'mrkdwn', text: `*Reason*\n${escapeMrkdwn(alert.reason)}` },
  ];
  if (alert.provider) fields.push({ type: 'mrkdwn', text: `*Provider*\n${escapeMrkdwn(alert.provider)}` });
  for (const { label, keys } of DETAIL_FIELDS) {
    const key = keys.find((k) => alert.details[k] !== undefined);
    if (key === undefined || fields.length >= 10) continue;
    fields.push({ type: 'mrkdwn', text: `*${label}*\n${escapeMrkdwn(String(alert.details[key]))}` });
  }
  const context = [`severity ${alert.severity}`, new Date(alert.at).toISOString()];
  if (alert.rotationId) context.push(`rotation ${alert.rotationId}`);
  return {
    text: escapeMrkdwn(text),
    blocks: [
      {
        type: 'header',
        text: { type: 'plain_text', text: clip(`${sev}: ${alert.reason} on ${alert.targetId}`, 150) },
      },
      { type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(alert.summary), 3000) } },
      { type: 'section', fields },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(context.join(' · ')) }] },
    ],
  };
}

export function createSlackSink(opts: SlackSinkOptions): AlertSink {
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    name: 'slack',
    async send(alert) {
      const body = JSON.stringify(slackPayload(alert));
      await postJson({ fetch: fetchImpl, url: opts.url, body, headers: {}, timeoutMs, label: 'slack' });
    },
  };
}
