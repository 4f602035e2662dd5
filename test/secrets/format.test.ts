import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SecretFormatError,
  nextSecretText,
  readPassword,
  readSecret,
  sensitiveParts,
  type SecretDefaults,
} from '../../src/secrets/format.js';

const defaults: SecretDefaults = {
  username: 'admin',
  engine: 'otc-css',
  extra: { targetId: 't1', region: 'eu-de' },
};
const NEW_PW = 'N3w-"pass\\word-ä漢🔐';

function unreadable(text: string, format: 'json' | 'text'): SecretFormatError {
  try {
    readSecret(text, format);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretFormatError);
    return err as SecretFormatError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be unreadable as ${format}`);
}

describe('secret format json', () => {
  it('writes a new secret in the rotator shape with a fixed key order', () => {
    const text = nextSecretText('json', undefined, 'Pw-1', defaults);
    expect(text).toBe(
      '{"username":"admin","password":"Pw-1","engine":"otc-css","region":"eu-de","targetId":"t1"}',
    );
  });

  it('adopts a document without username and engine: fills them, keeps the rest', () => {
    const base = readSecret('{"password":"old-pw","host":"https://es:9200"}', 'json');
    expect(base.password).toBe('old-pw');
    const next = nextSecretText('json', base, NEW_PW, defaults);
    expect(next).toBe(
      `{"password":${JSON.stringify(NEW_PW)},"host":"https://es:9200","username":"admin","engine":"otc-css"}`,
    );
    expect(readSecret(next, 'json').password).toBe(NEW_PW);
  });

  it('keeps numbers, booleans, nested objects, spacing and number spelling byte for byte', () => {
    const text =
      '{\n  "username": "elastic",\n  "password": "old",\n  "port": 9200,\n  "big": 12345678901234567890,\n' +
      '  "ratio": 1.50, "tls": true, "nested": {"a": [1, {"password": "inner"}], "b": null},\n  "engine": "custom"\n}\n';
    const next = nextSecretText('json', readSecret(text, 'json'), 'Fresh-1', defaults);
    expect(next).toBe(text.replace('"password": "old"', '"password": "Fresh-1"'));
    const doc = JSON.parse(next) as Record<string, unknown>;
    expect(doc.nested).toEqual({ a: [1, { password: 'inner' }], b: null });
    expect(doc.username).toBe('elastic');
    expect(doc.engine).toBe('custom');
  });

  it('fills a placeholder password and an empty object', () => {
    for (const text of [
      '{"username":"u","password":null}',
      '{"username":"u","password":""}',
      '{"username":"u"}',
    ]) {
      const base = readSecret(text, 'json');
      expect(base.password).toBeUndefined();
      expect(JSON.parse(nextSecretText('json', base, 'P-1', defaults))).toEqual({
        username: 'u',
        password: 'P-1',
        engine: 'otc-css',
      });
    }
    expect(nextSecretText('json', readSecret(' { } ', 'json'), 'P-1', defaults)).toBe(
      ' {"username":"admin","password":"P-1","engine":"otc-css" } ',
    );
    expect(() => readPassword('{"username":"u"}', 'json')).toThrow(SecretFormatError);
  });

  it('property: every other field keeps its value, type and order; the output is deterministic', () => {
    const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue(), { maxKeys: 8 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.integer({ min: 0, max: 2 }),
        (doc, password, old, indent) => {
          const fields: Record<string, unknown> = { ...doc };
          if (old !== undefined) fields.password = old;
          else delete fields.password;
          const text = JSON.stringify(fields, null, indent);
          const base = readSecret(text, 'json');
          const next = nextSecretText('json', base, password, defaults);
          expect(nextSecretText('json', readSecret(text, 'json'), password, defaults)).toBe(next);
          const out = JSON.parse(next) as Record<string, unknown>;
          expect(out.password).toBe(password);
          const others = (o: Record<string, unknown>) =>
            Object.entries(o).filter(([k]) => k !== 'password' && k !== 'username' && k !== 'engine');
          expect(others(out)).toEqual(others(JSON.parse(text) as Record<string, unknown>));
          for (const f of ['username', 'engine'] as const) {
            expect(out[f]).toEqual(Object.hasOwn(fields, f) ? fields[f] : defaults[f]);
          }
          expect(readPassword(next, 'json')).toBe(password);
        },
      ),
    );
  });

  it('names the shape of an unreadable value, never its content', () => {
    const cases: [string, string][] = [
      ['', 'an empty value'],
      ['hunter2-secret', 'text that is not JSON'],
      ['["hunter2-secret"]', 'a JSON array'],
      ['"hunter2-secret"', 'a JSON string'],
      ['42', 'a JSON number'],
      ['null', 'JSON null'],
      ['{"password": 12345678}', 'a JSON object whose password is a JSON number'],
      ['{"password": {"v":"hunter2-secret"}}', 'a JSON object whose password is a JSON object'],
      [
        '{"password":"hunter2-secret","password":"hunter2-other"}',
        'a JSON object with more than one password field',
      ],
    ];
    for (const [text, found] of cases) {
      const err = unreadable(text, 'json');
      expect(err.found).toBe(found);
      expect(err.format).toBe('json');
      expect(err.message).not.toContain('hunter2');
      expect(err.message).not.toContain('12345678');
    }
  });
});

describe('secret format text', () => {
  it('the whole text is the password, byte for byte, and the next version is the bare password', () => {
    const text = ' pass with spaces\n';
    expect(readSecret(text, 'text')).toEqual({ format: 'text', text, password: text });
    expect(nextSecretText('text', readSecret(text, 'text'), NEW_PW, defaults)).toBe(NEW_PW);
    expect(nextSecretText('text', undefined, NEW_PW, defaults)).toBe(NEW_PW);
    // JSON that is not an object is just a password that looks like JSON.
    expect(readPassword('[1]', 'text')).toBe('[1]');
  });

  it('refuses empty text and a JSON object (that secret is json)', () => {
    expect(unreadable('', 'text').found).toBe('an empty value');
    expect(unreadable(' \n', 'text').found).toBe('only whitespace');
    const err = unreadable('{"username":"u","password":"hunter2-secret"}', 'text');
    expect(err.found).toMatch(/^a JSON object/);
    expect(err.message).not.toContain('hunter2');
  });
});

describe('sensitiveParts', () => {
  it('is the whole text, plus the password of a JSON document', () => {
    expect(sensitiveParts('{"password":"abc-123","port":1}')).toEqual([
      '{"password":"abc-123","port":1}',
      'abc-123',
    ]);
    expect(sensitiveParts('plain-pw')).toEqual(['plain-pw']);
  });
});
