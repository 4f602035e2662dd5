import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFileStore, type FileStore } from '../../src/secrets/file/index.js';
import {
  CURRENT_CHANGED,
  PENDING_LOST,
  PENDING_TAKEN,
  SecretStoreError,
  type SecretStore,
} from '../../src/secrets/types.js';
import { MemoryStore } from '../support/memory-store.js';

/**
 * The file store against the in-memory model of Secrets Manager: random stage / promote / drop
 * calls (with and without compare-and-set), some sent together (one group commit), with the store
 * reopened (a new object reading the files) and compacting at random points. After every step
 * both answer every read alike.
 */
const SECRETS = ['s0', 's1', 's2'];
const CAS_CODES = new Set([PENDING_TAKEN, CURRENT_CHANGED, PENDING_LOST]);
const token = (i: number) => `model-token-${String(i).padStart(24, '0')}`;

type Op =
  | { op: 'stage'; secret: string; token: number; text: string; expectPending: number | null | undefined }
  | { op: 'promote'; secret: string; token: number; expectCurrent: number | null | undefined }
  | { op: 'drop'; secret: string; token: number }
  | { op: 'batch'; ops: Op[] }
  | { op: 'reopen' };

const secret = fc.constantFrom(...SECRETS);
const tok = fc.integer({ min: 0, max: 6 });
const cas = fc.option(fc.option(tok, { nil: null }), { nil: undefined });
const single: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('stage' as const),
    secret,
    token: tok,
    text: fc.constantFrom('a', 'b', 'pässwörd "\\'),
    expectPending: cas,
  }),
  fc.record({ op: fc.constant('promote' as const), secret, token: tok, expectCurrent: cas }),
  fc.record({ op: fc.constant('drop' as const), secret, token: tok }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: single },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('batch' as const),
      ops: fc.array(single, { minLength: 2, maxLength: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
);

function call(store: SecretStore, o: Exclude<Op, { op: 'batch' } | { op: 'reopen' }>): Promise<unknown> {
  const cas = (v: number | null | undefined) => (v === undefined || v === null ? v : token(v));
  switch (o.op) {
    case 'stage':
      return store.stagePending(o.secret, token(o.token), o.text, { expectPending: cas(o.expectPending) });
    case 'promote':
      return store.promote(o.secret, token(o.token), { expectCurrent: cas(o.expectCurrent) });
    case 'drop':
      return store.dropPending(o.secret, token(o.token));
  }
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ ok: true, value }),
    (err: unknown) => {
      if (!(err instanceof SecretStoreError)) throw err;
      // The compare-and-set codes are the contract; a backend's own codes are not.
      return { ok: false, kind: err.kind, code: CAS_CODES.has(err.code ?? '') ? err.code : undefined };
    },
  );

async function reads(store: SecretStore) {
  const out: Record<string, unknown> = {};
  for (const s of SECRETS) {
    out[s] = {
      versions: (await store.describe(s))?.map((v) => ({ id: v.versionId, stages: [...v.stages].sort() })),
      current: await store.getCurrent(s),
      pending: await store.getPending(s),
      previous: await store.getPrevious(s),
    };
  }
  return out;
}

describe('file store against the model', () => {
  it('answers like the in-memory model through batches, reopens and compactions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(0, 300, 1 << 20),
        async (ops, compactBytes) => {
          const dir = await mkdtemp(join(tmpdir(), 'rotator-model-'));
          try {
            const key = randomBytes(32);
            const path = join(dir, 's.enc');
            const open = (): FileStore =>
              createFileStore({ path, keyBytes: key, compactBytes, now: () => 1 });
            let file = open();
            const model = new MemoryStore(() => 1);
            for (const o of ops) {
              if (o.op === 'reopen') {
                await file.close();
                file = open();
              } else if (o.op === 'batch') {
                // Sent together: one group commit in the file store, applied in order.
                const fileOut = await Promise.all(
                  o.ops.map((x) => outcome(call(file, x as Exclude<Op, { op: 'batch' } | { op: 'reopen' }>))),
                );
                const modelOut = [];
                for (const x of o.ops) {
                  modelOut.push(
                    await outcome(call(model, x as Exclude<Op, { op: 'batch' } | { op: 'reopen' }>)),
                  );
                }
                expect(fileOut).toEqual(modelOut);
              } else {
                expect(await outcome(call(file, o))).toEqual(await outcome(call(model, o)));
              }
              expect(await reads(file)).toEqual(await reads(model));
            }
            // And from the files alone.
            expect(await reads(open())).toEqual(await reads(model));
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 180_000);
});
