import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAlertSinks } from '../../src/alerts/from-config.js';
import { ConfigError } from '../../src/config/problems.js';
import { alertSchema } from '../../src/config/schema.js';
import { captureLogger } from './capture-logger.js';
import { startReceiver } from './receiver.js';
import { sampleAlert } from './sample.js';

const dir = mkdtempSync(join(tmpdir(), 'alerts-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('buildAlertSinks', () => {
  it('resolves env and file references, always puts the log sink first, and reports every secret', async () => {
    const hook = await startReceiver();
    const slack = await startReceiver();
    try {
      const keyFile = join(dir, 'hmac');
      writeFileSync(keyFile, 'key-from-file\n');
      const configs = [
        alertSchema.parse({ type: 'webhook', url: { env: 'HOOK_URL' }, hmacKey: { file: keyFile } }),
        alertSchema.parse({ type: 'slack', url: { env: 'SLACK_URL' } }),
        alertSchema.parse({ type: 'log' }),
      ];
      const secrets: string[] = [];
      const { logger } = captureLogger();
      const env = { HOOK_URL: `${hook.url}/h`, SLACK_URL: `${slack.url}/services/T/B/S` };
      const sinks = buildAlertSinks(configs, { logger, env, onSecret: (s) => secrets.push(s) });

      expect(sinks.map((s) => s.name)).toEqual(['log', `webhook ${hook.url}`, 'slack']);
      expect(secrets.sort()).toEqual([env.HOOK_URL, env.SLACK_URL, 'key-from-file'].sort());
      for (const s of sinks) await s.send(sampleAlert());
      const req = hook.received[0]!;
      expect(req.path).toBe('/h');
      // A raw key (no whsec_ prefix) signs with its UTF-8 bytes, over id.timestamp.body.
      const signed = `${String(req.headers['webhook-id'])}.${String(req.headers['webhook-timestamp'])}.${req.body}`;
      expect(req.headers['webhook-signature']).toBe(
        `v1,${createHmac('sha256', 'key-from-file').update(signed).digest('base64')}`,
      );
      expect(slack.received[0]!.path).toBe('/services/T/B/S');
    } finally {
      await hook.close();
      await slack.close();
    }
  });

  it('accepts a literal webhook URL', () => {
    const { logger } = captureLogger();
    const sinks = buildAlertSinks(
      [alertSchema.parse({ type: 'webhook', url: 'https://alerts.example.com/x' })],
      {
        logger,
        env: {},
      },
    );
    expect(sinks.map((s) => s.name)).toEqual(['log', 'webhook https://alerts.example.com']);
  });

  it('names every unresolvable or invalid reference by path, never by value', () => {
    const { logger } = captureLogger();
    const configs = [
      alertSchema.parse({ type: 'slack', url: { env: 'MISSING_SLACK' } }),
      alertSchema.parse({ type: 'webhook', url: { env: 'NOT_A_URL' }, hmacKey: { env: 'MISSING_KEY' } }),
    ];
    let err: unknown;
    try {
      buildAlertSinks(configs, { logger, env: { NOT_A_URL: 'ftp-secret-value' }, source: 'rotator.yaml' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const { problems, file } = err as ConfigError;
    expect(file).toBe('rotator.yaml');
    expect(problems).toEqual([
      { path: 'alerts[0].url', message: 'environment variable MISSING_SLACK is not set' },
      { path: 'alerts[1].url', message: 'must resolve to an http(s) URL' },
      { path: 'alerts[1].hmacKey', message: 'environment variable MISSING_KEY is not set' },
    ]);
    expect((err as Error).message).not.toContain('ftp-secret-value');
  });

  it('refuses a malformed whsec_ signing secret, naming the field and never the value', () => {
    const { logger } = captureLogger();
    const configs = [
      alertSchema.parse({ type: 'webhook', url: 'https://a.example/x', hmacKey: { env: 'SHORT' } }),
      alertSchema.parse({ type: 'webhook', url: 'https://a.example/y', hmacKey: { env: 'GOOD' } }),
    ];
    const short = 'whsec_c2hvcnQta2V5LXZhbHVl';
    const good = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    let err: unknown;
    try {
      buildAlertSinks(configs, { logger, env: { SHORT: short, GOOD: good } });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([
      { path: 'alerts[0].hmacKey', message: 'a whsec_ secret must hold at least 24 bytes, got 15' },
    ]);
    expect((err as Error).message).not.toContain('c2hvcnQta2V5LXZhbHVl');
  });
});
