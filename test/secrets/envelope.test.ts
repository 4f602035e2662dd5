import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, open, seal, sealChunks } from '../../src/secrets/file/envelope.js';

describe('file store envelope', () => {
  const key = randomBytes(32);

  it('the chunks of a vectored write open to the plaintext, as the single buffer does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        const plain = Buffer.from(bytes);
        expect(open(key, Buffer.concat(sealChunks(key, plain))).equals(plain)).toBe(true);
        expect(open(key, seal(key, plain)).equals(plain)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('text pieces sealed one by one open to their UTF-8 concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 20 }), (pieces) => {
        const opened = open(key, Buffer.concat(sealChunks(key, pieces)));
        expect(opened.toString('utf8')).toBe(Buffer.from(pieces.join(''), 'utf8').toString('utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('a flipped byte anywhere, or another key, fails authentication', () => {
    const sealed = Buffer.concat(sealChunks(key, Buffer.from('{"secrets":{}}')));
    for (let i = 5; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      expect(() => open(key, bad)).toThrow(EnvelopeError);
    }
    expect(() => open(randomBytes(32), sealed)).toThrow(/authentication failed/);
  });
});
