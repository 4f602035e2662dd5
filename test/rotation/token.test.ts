import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_GENERATIONS, generationTokens, versionToken } from '../../src/rotation/token.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('versionToken', () => {
  it('is a 36-character UUIDv8 (AWS ClientRequestToken wants 32-64)', () => {
    const t = versionToken({ targetId: 'search-eu-de', rotationId: 'job-42', generation: 0 });
    expect(t).toMatch(UUID);
    expect(t).toHaveLength(36);
  });

  it('is deterministic: a known answer', () => {
    // Pinned: changing the derivation would orphan every pending version staged by the old code.
    expect(versionToken({ targetId: 't', rotationId: 'r', generation: 0 })).toBe(KNOWN_T_R_0);
  });

  it('differs for every field, including field-boundary shifts', () => {
    const base = { targetId: 'a', rotationId: 'b:c', generation: 0 };
    const all = [
      versionToken(base),
      versionToken({ ...base, targetId: 'a:b', rotationId: 'c' }),
      versionToken({ ...base, generation: 1 }),
      versionToken({ ...base, targetId: 'x' }),
      versionToken({ ...base, rotationId: 'b:d' }),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('is a UUID and collision-free over random inputs', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: MAX_GENERATIONS - 1 }),
        (targetId, rotationId, generation) => {
          const t = versionToken({ targetId, rotationId, generation });
          expect(t).toMatch(UUID);
          if (generation > 0)
            expect(versionToken({ targetId, rotationId, generation: generation - 1 })).not.toBe(t);
        },
      ),
    );
  });

  it('rejects bad input naming the field', () => {
    expect(() => versionToken({ targetId: '', rotationId: 'r', generation: 0 })).toThrow(/targetId/);
    expect(() => versionToken({ targetId: 't', rotationId: '', generation: 0 })).toThrow(/rotationId/);
    expect(() => versionToken({ targetId: 't', rotationId: 'r', generation: -1 })).toThrow(/generation/);
    expect(() => versionToken({ targetId: 't', rotationId: 'r', generation: 1.5 })).toThrow(/generation/);
    expect(() => versionToken({ targetId: 't', rotationId: 'r', generation: MAX_GENERATIONS })).toThrow(
      /generation/,
    );
  });

  it('generationTokens lists generations 0..n-1', () => {
    const ts = generationTokens('t', 'r', 3);
    expect(ts).toEqual(
      [0, 1, 2].map((generation) => versionToken({ targetId: 't', rotationId: 'r', generation })),
    );
  });
});

// Computed independently: sha256('31:secret-rotator/version-token/v11:t1:r1:0'), version 8, variant 10.
const KNOWN_T_R_0 = 'ba288ae9-2630-85a4-8ede-2634fbb0ff74';
