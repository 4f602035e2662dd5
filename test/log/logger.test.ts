import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, loadPinoPretty, LoggerSetupError } from '../../src/log/logger.js';
import { REDACT_PATHS, REDACT_TOP_LEVEL_PATHS, SENSITIVE_KEYS } from '../../src/log/redact.js';
import { SecretRegistry } from '../../src/log/secret-registry.js';
import { PROVIDER_POLICIES } from '../../src/policy/catalog.js';
import { generatePassword } from '../../src/policy/generate.js';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Every form in which a value could leak: raw, JSON-escaped, and each half of it. */
function traces(value: string): string[] {
  const half = Math.ceil(value.length / 2);
  return [value, JSON.stringify(value).slice(1, -1), value.slice(0, half), value.slice(half)].filter(
    (t) => t.length >= 6,
  );
}

describe('createLogger', () => {
  it('prints no trace of a generated password given by path, in a message, an Error and a nested object', () => {
    const registry = new SecretRegistry();
    const password = generatePassword(PROVIDER_POLICIES['otc-css'], { registry });
    const out = capture();
    const log = createLogger({ destination: out.stream, registry });

    log.info({ password, body: { newpassword: password } }, 'reset sent');
    log.info(`cloud answered: invalid password ${password} for admin`);
    log.error({ err: new Error(`CSS.0050 : ${password} is not valid`) }, 'reset failed');
    log.warn(new Error(`echo ${password}`));
    log.info(
      { response: { data: { echoed: { deeper: { text: `x${password}y`, list: [password] } } } } },
      'nested',
    );
    log.child({ target: 't1', note: password }).info('child bindings');

    const text = out.text();
    expect(text.split('\n').filter(Boolean)).toHaveLength(6);
    for (const t of traces(password)) expect(text).not.toContain(t);
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('reset failed');
    // Still JSON, one object per line.
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('redacts by key at any depth and in header form, even for values it has never seen', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, registry: new SecretRegistry() });
    const secrets = {
      password: 'pw-top-level-1',
      kafkaManagerUserPassword: 'pw-ncp-body-22',
      secretKey: 'sk-config-333',
      token: 'tok-4444',
      a: { b: { c: { d: { password: 'pw-very-deep-5' } } } },
      req: {
        headers: {
          Authorization: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=sig-666',
          'x-ncp-apigw-signature-v2': 'ncp-sig-7777',
          'X-Auth-Token': 'iam-token-8888',
        },
      },
      aws: { SecretString: '{"password":"aws-secret-9999"}' },
    };
    const err = Object.assign(new Error('request failed'), {
      config: { headers: { authorization: 'Bearer err-10' } },
    });
    log.info(secrets, 'request');
    log.error({ err }, 'failed');
    const text = out.text();
    for (const v of [
      'pw-top-level-1',
      'pw-ncp-body-22',
      'sk-config-333',
      'tok-4444',
      'pw-very-deep-5',
      'sig-666',
      'ncp-sig-7777',
      'iam-token-8888',
      'aws-secret-9999',
      'err-10',
    ]) {
      expect(text).not.toContain(v);
    }
    const first = JSON.parse(text.split('\n')[0]!) as {
      req: { headers: Record<string, string> };
      a: unknown;
    };
    expect(first.req.headers['x-ncp-apigw-signature-v2']).toBe('[REDACTED]');
    expect(first.a).toEqual({ b: { c: { d: { password: '[REDACTED]' } } } });
  });

  it('pino redact paths alone cover the keys at the top and two levels down', () => {
    const out = capture();
    const plain = pino({ redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' } }, out.stream);
    plain.info({
      password: 'p1-xxxxxx',
      x: { token: 'p2-xxxxxx' },
      req: { headers: { 'x-auth-token': 'p3-xxxxxx' } },
    });
    expect(out.text()).not.toMatch(/p[123]-xxxxxx/);
  });

  it("the logger's own redact paths (top level only) cover every sensitive key there", () => {
    expect(REDACT_TOP_LEVEL_PATHS.some((p) => p.includes('*'))).toBe(false);
    const out = capture();
    const plain = pino({ redact: { paths: [...REDACT_TOP_LEVEL_PATHS], censor: '[REDACTED]' } }, out.stream);
    plain.info(Object.fromEntries(SENSITIVE_KEYS.map((k, i) => [k, `top-${i}-xxxxxx`])));
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    for (const k of SENSITIVE_KEYS) expect(line[k]).toBe('[REDACTED]');
    expect(out.text()).not.toMatch(/top-\d+-xxxxxx/);
  });

  it('scrubs secrets whose JSON form differs from the raw value', () => {
    const registry = new SecretRegistry();
    const secret = registry.add('quo"te\\back\nline');
    const out = capture();
    createLogger({ destination: out.stream, registry }).info({ detail: `got ${secret}` }, `msg ${secret}`);
    expect(out.text()).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(out.text().match(/\[REDACTED\]/g)).toHaveLength(2);
  });

  it('writes JSON by default and pretty text only when asked', async () => {
    const json = capture();
    createLogger({ destination: json.stream, registry: new SecretRegistry() }).info({ target: 't' }, 'hello');
    expect(JSON.parse(json.text())).toMatchObject({ level: 30, msg: 'hello', target: 't' });

    const registry = new SecretRegistry();
    const secret = registry.add('pretty-secret-value');
    const pretty = capture();
    createLogger({ pretty: true, destination: pretty.stream, registry }).info(
      { target: 't' },
      `hello ${secret}`,
    );
    for (let i = 0; i < 50 && !pretty.text(); i++) await delay(10);
    expect(pretty.text()).toMatch(/INFO.*hello \[REDACTED\]/);
    expect(pretty.text()).not.toContain(secret);
    expect(() => JSON.parse(pretty.text()) as unknown).toThrow();
  });

  it('fails with a clear message when pino-pretty is missing', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadPinoPretty(missing)).toThrow(LoggerSetupError);
    expect(() => loadPinoPretty(missing)).toThrow(/pino-pretty .* not installed.*log\.pretty: false/);
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream, registry: new SecretRegistry() });
    log.info('hidden');
    log.warn('shown');
    expect(out.text()).not.toContain('hidden');
    expect(out.text()).toContain('shown');
  });
});

describe('SecretRegistry', () => {
  it('replaces the longest secret first and ignores values too short to scrub safely', () => {
    const r = new SecretRegistry();
    r.add('abcd1234');
    r.add('abcd1234-longer');
    r.add('xyz');
    expect(r.size).toBe(2);
    expect(r.scrub('a abcd1234-longer b abcd1234 c xyz')).toBe('a [REDACTED] b [REDACTED] c xyz');
    r.delete('abcd1234');
    expect(r.scrub('abcd1234')).toBe('abcd1234');
  });

  it('treats regex metacharacters literally', () => {
    const r = new SecretRegistry();
    r.add('a.b*c+d?(e)[f]|^$\\');
    expect(r.scrub('x a.b*c+d?(e)[f]|^$\\ y aXbbbcd')).toBe('x [REDACTED] y aXbbbcd');
  });

  it('scrubDeep copies objects with every string scrubbed', () => {
    const r = new SecretRegistry();
    r.add('s3cr3t-value');
    const input = { a: ['s3cr3t-value'], b: { c: 'pre s3cr3t-value post' }, n: 1 };
    expect(r.scrubDeep(input)).toEqual({ a: ['[REDACTED]'], b: { c: 'pre [REDACTED] post' }, n: 1 });
    expect(input.a[0]).toBe('s3cr3t-value');
  });
});
