import { afterEach, describe, expect, it } from 'vitest';
import { type SlackPayload, createSlackSink, slackPayload } from '../../src/alerts/slack-sink.js';
import { type Receiver, startReceiver } from './receiver.js';
import { sampleAlert } from './sample.js';

describe('slack sink', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('posts { text, blocks } summarising target, reason, kind, status, vendor code and request id', async () => {
    receiver = await startReceiver();
    const sink = createSlackSink({ url: `${receiver.url}/services/T000/B000/XXXXSECRET` });
    expect(sink.name).toBe('slack');
    await sink.send(sampleAlert());

    const payload = JSON.parse(receiver.received[0]!.body) as SlackPayload;
    expect(Object.keys(payload).sort()).toEqual(['blocks', 'text']);
    expect(payload.text).toContain('css-prod');
    expect(payload.text).toContain('precondition');
    expect(payload.text).toContain('CRITICAL');
    const types = payload.blocks!.map((b) => b.type);
    expect(types).toEqual(['header', 'section', 'section', 'context']);
    const fields = payload.blocks!.flatMap((b) => (b.type === 'section' && b.fields ? b.fields : []));
    const byLabel = Object.fromEntries(fields.map((f) => f.text.split('\n') as [string, string]));
    expect(byLabel).toEqual({
      '*Target*': 'css-prod',
      '*Reason*': 'precondition',
      '*Provider*': 'huaweicloud-css',
      '*Kind*': 'precondition',
      '*HTTP status*': '412',
      '*Vendor code*': 'CSS.0015',
      '*Request id*': 'req-9f1',
    });
  });

  it('escapes Slack control characters so a summary cannot inject links or mentions', () => {
    const p = slackPayload(sampleAlert({ summary: 'see <!channel> & <http://evil|here>' }));
    const section = p.blocks![1]!;
    expect(section.type === 'section' && section.text?.text).toBe(
      'see &lt;!channel&gt; &amp; &lt;http://evil|here&gt;',
    );
    expect(p.text).not.toContain('<');
  });

  it('shows the folded repeat count when there is one', () => {
    const p = slackPayload(sampleAlert({ details: { foldedRepeats: 7 } }));
    const texts = p
      .blocks!.flatMap((b) => (b.type === 'section' && b.fields ? b.fields : []))
      .map((f) => f.text);
    expect(texts).toContain('*Repeats folded*\n7');
  });

  it('a 404 (revoked webhook) is final and the error does not contain the URL', async () => {
    receiver = await startReceiver(() => 404);
    const err = await createSlackSink({ url: `${receiver.url}/services/T000/B000/XXXXSECRET` })
      .send(sampleAlert())
      .then(
        () => expect.unreachable(),
        (e: Error & { retryable: boolean }) => e,
      );
    expect(err.retryable).toBe(false);
    expect(err.message).toBe('slack: answered HTTP 404');
  });
});
