import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore, type FileStore } from '../../src/secrets/file/index.js';
import { open, seal } from '../../src/secrets/file/envelope.js';
import {
  JOURNAL_HEADER_LENGTH,
  JournalError,
  RECORD_OVERHEAD,
  journalHeader,
  newGeneration,
  openJournalHeader,
  readRecords,
  sealRecord,
} from '../../src/secrets/file/journal.js';
import { SecretStoreError, type SecretStore, type SecretValue } from '../../src/secrets/types.js';
import { MemoryStore } from '../support/memory-store.js';
import { collectErrorText } from './support.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-file-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = Buffer.alloc(32, 9);
const tok = (n: number | string) => `tok-${String(n).padStart(32, '0')}`;
const value = (n: number | string): SecretValue => ({
  username: 'admin',
  password: `Pw-${n}-x9`,
  engine: 'e',
});

async function caught(p: Promise<unknown>): Promise<SecretStoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecretStoreError);
  return err as SecretStoreError;
}

/** The record boundaries of a journal file (offsets of each record's start, then its end). */
function recordOffsets(bytes: Buffer): number[] {
  const out = [JOURNAL_HEADER_LENGTH];
  let pos = JOURNAL_HEADER_LENGTH;
  while (pos + RECORD_OVERHEAD <= bytes.length) {
    pos += RECORD_OVERHEAD + bytes.readUInt32BE(pos);
    if (pos > bytes.length) break;
    out.push(pos);
  }
  return out;
}

/** Everything readable about some secrets, for comparing two stores. */
async function view(store: SecretStore, ids: string[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const described = await store.describe(id);
    if (!described) {
      out[id] = undefined;
      continue;
    }
    const versions = await Promise.all(
      described
        .map((v) => ({ versionId: v.versionId, stages: [...v.stages].sort() }))
        .sort((a, b) => a.versionId.localeCompare(b.versionId))
        .map(async (v) => ({ ...v, value: (await store.getVersion(id, v.versionId))?.value })),
    );
    out[id] = {
      versions,
      current: (await store.getCurrent(id))?.versionId,
      previous: (await store.getPrevious(id))?.versionId,
      pending: (await store.getPending(id))?.versionId,
    };
  }
  return out;
}

/** Three commits on `a`, `b`, `c` (stage a, stage b, promote a): three journal records. */
async function threeCommits(path: string, opts: { compactBytes?: number } = {}): Promise<FileStore> {
  const store = createFileStore({ path, keyBytes: key, ...opts });
  await store.stagePending('seed', tok('seed'), value('seed')); // creates snapshot + empty journal
  await store.stagePending('a', tok(1), value(1));
  await store.stagePending('b', tok(2), value(2));
  await store.promote('a', tok(1));
  return store;
}

describe('journal format', () => {
  it('records round-trip and are bound to their generation, number and offset', () => {
    const gen = newGeneration();
    const header = journalHeader(key, gen);
    expect(header.length).toBe(JOURNAL_HEADER_LENGTH);
    expect(openJournalHeader(key, header).equals(gen)).toBe(true);
    expect(() => openJournalHeader(randomBytes(32), header)).toThrow(JournalError);
    const r0 = sealRecord(key, gen, 0, JOURNAL_HEADER_LENGTH, Buffer.from('{"put":[]}'));
    const r1 = sealRecord(key, gen, 1, JOURNAL_HEADER_LENGTH + r0.length, Buffer.from('{"put":[1]}'));
    const read = readRecords(key, gen, Buffer.concat([r0, r1]), JOURNAL_HEADER_LENGTH, 0);
    expect(read.records.map(String)).toEqual(['{"put":[]}', '{"put":[1]}']);
    expect(read.validEnd).toBe(JOURNAL_HEADER_LENGTH + r0.length + r1.length);
    expect(read.nextSeq).toBe(2);
    expect(read.tornBytes).toBe(0);
    // Swapped: the first no longer authenticates and records follow it.
    expect(() => readRecords(key, gen, Buffer.concat([r1, r0]), JOURNAL_HEADER_LENGTH, 0)).toThrow(
      JournalError,
    );
    // Another generation: every record fails; the first has a record after it.
    expect(() =>
      readRecords(key, newGeneration(), Buffer.concat([r0, r1]), JOURNAL_HEADER_LENGTH, 0),
    ).toThrow(JournalError);
  });

  it('any cut of the last record is a torn tail; a zeroed tail too', () => {
    const gen = newGeneration();
    const r0 = sealRecord(key, gen, 0, JOURNAL_HEADER_LENGTH, Buffer.from('{"put":["zero"]}'));
    const r1 = sealRecord(key, gen, 1, JOURNAL_HEADER_LENGTH + r0.length, Buffer.from('{"put":["one"]}'));
    for (let cut = 0; cut < r1.length; cut++) {
      const read = readRecords(key, gen, Buffer.concat([r0, r1.subarray(0, cut)]), JOURNAL_HEADER_LENGTH, 0);
      expect(read.records.map(String)).toEqual(['{"put":["zero"]}']);
      expect(read.validEnd).toBe(JOURNAL_HEADER_LENGTH + r0.length);
      expect(read.tornBytes).toBe(cut);
    }
    for (const zeros of [1, RECORD_OVERHEAD, r1.length, 4096]) {
      const read = readRecords(key, gen, Buffer.concat([r0, Buffer.alloc(zeros)]), JOURNAL_HEADER_LENGTH, 0);
      expect(read.records).toHaveLength(1);
      expect(read.tornBytes).toBe(zeros);
    }
  });
});

describe('file store journal', () => {
  it('a commit appends one record and leaves the snapshot alone; records use fresh IVs', async () => {
    const path = join(dir, 's.enc');
    const store = createFileStore({ path, keyBytes: key });
    await store.stagePending('a', tok(1), value(1));
    const snapshot = await readFile(path);
    const j1 = await readFile(`${path}.journal`);
    expect(j1.length).toBe(JOURNAL_HEADER_LENGTH);
    await store.promote('a', tok(1));
    await store.stagePending('a', tok(2), value(2));
    expect((await readFile(path)).equals(snapshot)).toBe(true);
    const j2 = await readFile(`${path}.journal`);
    expect(j2.subarray(0, JOURNAL_HEADER_LENGTH).equals(j1)).toBe(true);
    const offsets = recordOffsets(j2);
    expect(offsets).toHaveLength(3);
    expect(offsets.at(-1)).toBe(j2.length);
    const iv = (o: number) => j2.subarray(o + 4, o + 16);
    expect(iv(offsets[0]!).equals(iv(offsets[1]!))).toBe(false);
    expect(j2.includes(Buffer.from('Pw-2-x9'))).toBe(false);
    expect((await stat(`${path}.journal`)).mode & 0o777).toBe(0o600);
    const fresh = createFileStore({ path, keyBytes: key });
    expect(await fresh.getPending('a')).toEqual({ versionId: tok(2), value: value(2) });
    expect((await fresh.getCurrent('a'))?.versionId).toBe(tok(1));
  });

  it('ignores a torn last record, and cuts it off before the next append', async () => {
    const path = join(dir, 's.enc');
    await threeCommits(path);
    const jpath = `${path}.journal`;
    const good = await readFile(jpath);
    const expected = await view(createFileStore({ path, keyBytes: key }), ['seed', 'a', 'b']);
    const offsets = recordOffsets(good);
    const last = good.subarray(offsets.at(-2)!);
    const tails = [
      last.subarray(0, 3), // part of the length prefix
      last.subarray(0, last.length - 1), // all but one byte
      Buffer.alloc(200), // a file system that grew the file but never wrote the data
      Buffer.concat([last.subarray(0, RECORD_OVERHEAD), randomBytes(last.length - RECORD_OVERHEAD)]), // full length, garbage
    ];
    for (const tail of tails) {
      await writeFile(jpath, Buffer.concat([good, tail]));
      const reader = createFileStore({ path, keyBytes: key });
      expect(await view(reader, ['seed', 'a', 'b'])).toEqual(expected);
      // The next commit cuts the tail off and appends right after the last good record.
      const writer = createFileStore({ path, keyBytes: key });
      await writer.dropPending('b', tok(2));
      const after = await readFile(jpath);
      expect(after.subarray(0, good.length).equals(good)).toBe(true);
      expect(recordOffsets(after)).toEqual([...offsets, after.length]);
      expect(await createFileStore({ path, keyBytes: key }).getPending('b')).toBeUndefined();
      await writeFile(jpath, good);
    }
  });

  it('a bad record before the last is a corrupt error, never skipped; the files are left alone', async () => {
    const path = join(dir, 's.enc');
    await threeCommits(path);
    const jpath = `${path}.journal`;
    const good = await readFile(jpath);
    const [r0, r1, r2, end] = recordOffsets(good);
    const rec = (a: number, b: number) => good.subarray(a, b);
    const flip = (i: number) => Buffer.from(good.map((b, j) => (j === i ? b ^ 1 : b)));
    const otherStore = join(dir, 'other.enc');
    await threeCommits(otherStore);
    const foreign = await readFile(`${otherStore}.journal`);
    const variants: [string, Buffer][] = [
      ['flipped ciphertext byte of the first record', flip(r0! + RECORD_OVERHEAD + 2)],
      ['flipped tag byte of the second record', flip(r1! + 20)],
      ['flipped length of the first record', flip(r0! + 3)],
      [
        'records swapped',
        Buffer.concat([good.subarray(0, r0!), rec(r1!, r2!), rec(r0!, r1!), rec(r2!, end!)]),
      ],
      ['a middle record dropped', Buffer.concat([good.subarray(0, r1!), rec(r2!, end!), rec(r2!, end!)])],
      ['a record replayed', Buffer.concat([good, rec(r2!, end!), rec(r2!, end!)])],
      [
        'a record from another journal spliced in',
        Buffer.concat([good.subarray(0, r1!), foreign.subarray(r1!, r2!), rec(r2!, end!)]),
      ],
      ['flipped header byte', flip(30)],
    ];
    const before = await readFile(path);
    for (const [label, bytes] of variants) {
      await writeFile(jpath, bytes);
      const store = createFileStore({ path, keyBytes: key });
      const err = await caught(store.getCurrent('a'));
      expect(err.kind, label).toBe('corrupt');
      expect(err.message, label).toContain(path);
      expect(collectErrorText(err), label).not.toContain('Pw-');
      await caught(store.stagePending('c', tok(3), value(3)));
      expect((await readFile(jpath)).equals(bytes), label).toBe(true);
      expect((await readFile(path)).equals(before), label).toBe(true);
    }
  });

  it('a journal of another generation (a compaction cut short) is ignored, then replaced', async () => {
    const path = join(dir, 's.enc');
    const jpath = `${path}.journal`;
    const store = await threeCommits(path, { compactBytes: 1 << 30 });
    const oldJournal = join(dir, 'old-journal');
    await copyFile(jpath, oldJournal);
    // A store that compacts at once: its next commit writes a new snapshot and journal.
    const compacting = createFileStore({ path, keyBytes: key, compactBytes: 0 });
    // Make the journal larger than the snapshot so that this commit compacts.
    for (let i = 0; i === 0 || (await stat(jpath)).size <= (await stat(path)).size; i++) {
      await store.stagePending(`fill-${i}`, tok(`f${i}`), value(`f${i}`));
    }
    const journalBefore = await readFile(jpath);
    await compacting.promote('b', tok(2));
    const compacted = await readFile(jpath);
    expect(compacted.length).toBe(JOURNAL_HEADER_LENGTH);
    expect(compacted.subarray(5, 21).equals(journalBefore.subarray(5, 21))).toBe(false);
    const ids = ['seed', 'a', 'b', 'fill-0'];
    const expected = await view(createFileStore({ path, keyBytes: key }), ids);
    expect((expected as Record<string, { current?: string }>).b?.current).toBe(tok(2));
    // The crash: the new snapshot is in place, the old journal still is.
    await writeFile(jpath, journalBefore);
    expect(await view(createFileStore({ path, keyBytes: key }), ids)).toEqual(expected);
    // An even older journal of the same old generation: ignored as well.
    await copyFile(oldJournal, jpath);
    expect(await view(createFileStore({ path, keyBytes: key }), ids)).toEqual(expected);
    // The next commit starts a journal for the snapshot; nothing is lost.
    await createFileStore({ path, keyBytes: key }).dropPending('fill-0', tok('f0'));
    const reopened = createFileStore({ path, keyBytes: key });
    expect(await reopened.getPending('fill-0')).toBeUndefined();
    expect((await reopened.getCurrent('b'))?.versionId).toBe(tok(2));
    expect((await readFile(jpath)).subarray(0, 4).toString()).toBe('SRFJ');
  });

  it('compaction round trip: a new snapshot and an empty journal, the same content', async () => {
    const path = join(dir, 's.enc');
    const jpath = `${path}.journal`;
    const store = createFileStore({ path, keyBytes: key, compactBytes: 0 });
    const generations = new Set<string>();
    let compactions = 0;
    let lastSnapshot = await readFile(path).catch(() => Buffer.alloc(0));
    const check = async () => {
      const snap = await readFile(path);
      if (!snap.equals(lastSnapshot)) {
        compactions += 1;
        lastSnapshot = snap;
        expect((await stat(jpath)).size).toBe(JOURNAL_HEADER_LENGTH);
      }
      generations.add((await readFile(jpath)).subarray(5, 21).toString('hex'));
    };
    for (let i = 0; i < 40; i++) {
      await store.stagePending(`s/${i % 5}`, tok(i), value(i));
      await check();
      if (i % 3 === 0) {
        await store.promote(`s/${i % 5}`, tok(i));
        await check();
      }
    }
    expect(compactions).toBeGreaterThan(3);
    expect(generations.size).toBe(compactions);
    const plain = JSON.parse(open(key, await readFile(path)).toString('utf8')) as {
      format: number;
      generation: string;
    };
    expect(plain.format).toBe(2);
    expect(plain.generation).toBe((await readFile(jpath)).subarray(5, 21).toString('hex'));
    const ids = ['s/0', 's/1', 's/2', 's/3', 's/4'];
    expect(await view(createFileStore({ path, keyBytes: key }), ids)).toEqual(await view(store, ids));
  });

  it('opens a store written before the journal (format 1), and moves it on at the next commit', async () => {
    const path = join(dir, 's.enc');
    const legacy = {
      format: 1,
      secrets: [
        {
          id: 'old',
          createdAt: 1000,
          description: 'from before',
          versions: [
            { versionId: tok('p'), value: value('p'), stages: ['AWSPREVIOUS'], createdAt: 1000 },
            { versionId: tok('c'), value: value('c'), stages: ['AWSCURRENT'], createdAt: 2000 },
          ],
        },
      ],
    };
    await writeFile(path, seal(key, Buffer.from(JSON.stringify(legacy))), { mode: 0o600 });
    // A stray journal next to a version 1 file is not its journal.
    await writeFile(`${path}.journal`, Buffer.concat([journalHeader(key, newGeneration())]));
    const store = createFileStore({ path, keyBytes: key });
    expect(await store.getCurrent('old')).toEqual({ versionId: tok('c'), value: value('c') });
    expect((await store.getPrevious('old'))?.versionId).toBe(tok('p'));
    await store.stagePending('old', tok('n'), value('n'));
    const plain = JSON.parse(open(key, await readFile(path)).toString('utf8')) as {
      format: number;
      generation: string;
    };
    expect(plain.format).toBe(2);
    expect(plain.generation).toMatch(/^[0-9a-f]{32}$/);
    const reopened = createFileStore({ path, keyBytes: key });
    expect((await reopened.describe('old'))?.map((v) => v.versionId)).toEqual([tok('n'), tok('c'), tok('p')]);
    await reopened.promote('old', tok('n'));
    expect((await createFileStore({ path, keyBytes: key }).getCurrent('old'))?.versionId).toBe(tok('n'));
    expect((await readdir(dir)).sort()).toEqual(['s.enc', 's.enc.journal']);
  });

  it('a wrong key fails on the snapshot, before any journal is read or written', async () => {
    const path = join(dir, 's.enc');
    await threeCommits(path);
    const journal = await readFile(`${path}.journal`);
    const other = createFileStore({ path, keyBytes: randomBytes(32) });
    const err = await caught(other.getCurrent('a'));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toMatch(/wrong key/);
    await caught(other.promote('b', tok(2)));
    expect((await readFile(`${path}.journal`)).equals(journal)).toBe(true);
  });

  it('a reader sees another instance’s appends and compactions as they happen', async () => {
    const path = join(dir, 's.enc');
    const writer = createFileStore({ path, keyBytes: key, compactBytes: 0 });
    const reader = createFileStore({ path, keyBytes: key });
    for (let i = 0; i < 30; i++) {
      await writer.stagePending(`s/${i % 4}`, tok(i), value(i));
      expect((await reader.getPending(`s/${i % 4}`))?.versionId).toBe(tok(i));
      await writer.promote(`s/${i % 4}`, tok(i));
      expect((await reader.getCurrent(`s/${i % 4}`))?.versionId).toBe(tok(i));
      expect(await reader.getPending(`s/${i % 4}`)).toBeUndefined();
    }
  });
});

describe('file store journal: model', () => {
  type Op =
    | { kind: 'stage'; secret: number; token: number; value: number }
    | { kind: 'promote'; secret: number; token: number }
    | { kind: 'drop'; secret: number; token: number }
    | { kind: 'reopen' }
    | { kind: 'tear'; bytes: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('stage' as const),
        secret: fc.nat(3),
        token: fc.nat(6),
        value: fc.nat(2),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('promote' as const), secret: fc.nat(3), token: fc.nat(6) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('drop' as const), secret: fc.nat(3), token: fc.nat(6) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('tear' as const), bytes: fc.integer({ min: 1, max: 300 }) }),
    },
  );

  it('many commits (batched, torn tails, compactions, reopens) read back as the in-memory model', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 25 }),
        fc.constantFrom(0, 600, 3000, 1 << 20),
        async (batches, compactBytes) => {
          const path = join(dir, `model-${run++}.enc`);
          const ids = [0, 1, 2, 3].map((i) => `m/${i}`);
          const model = new MemoryStore(() => 1000);
          let store = createFileStore({ path, keyBytes: key, compactBytes, now: () => 1000 });
          const apply = async (s: SecretStore, op: Op): Promise<string> => {
            const id = `m/${'secret' in op ? op.secret : 0}`;
            const run = async (): Promise<unknown> => {
              if (op.kind === 'stage')
                return s.stagePending(id, tok(op.token), value(`${op.token}-${op.value}`));
              if (op.kind === 'promote') return s.promote(id, tok(op.token));
              if (op.kind === 'drop') return s.dropPending(id, tok(op.token));
              return undefined;
            };
            return run().then(
              (r) => `ok ${JSON.stringify(r ?? null)}`,
              (e: unknown) => `error ${(e as SecretStoreError).kind}`,
            );
          };
          for (const batch of batches) {
            const writes = batch.filter(
              (op) => op.kind === 'stage' || op.kind === 'promote' || op.kind === 'drop',
            );
            // Issued together: one group commit in the file store, in call order in both.
            const got = await Promise.all(writes.map((op) => apply(store, op)));
            const want: string[] = [];
            for (const op of writes) want.push(await apply(model, op));
            expect(got).toEqual(want);
            for (const op of batch) {
              if (op.kind === 'reopen')
                store = createFileStore({ path, keyBytes: key, compactBytes, now: () => 1000 });
              if (op.kind === 'tear') {
                // A crash in the middle of an append: the start of a record never acknowledged.
                const jpath = `${path}.journal`;
                if (
                  await stat(jpath).then(
                    () => true,
                    () => false,
                  )
                ) {
                  const prefix = Buffer.alloc(4);
                  prefix.writeUInt32BE(100_000);
                  await appendFile(
                    jpath,
                    Buffer.concat([prefix, randomBytes(op.bytes)]).subarray(0, op.bytes),
                  );
                }
              }
            }
          }
          expect(await view(store, ids)).toEqual(await view(model, ids));
          const fresh = createFileStore({ path, keyBytes: key, compactBytes });
          expect(await view(fresh, ids)).toEqual(await view(model, ids));
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
