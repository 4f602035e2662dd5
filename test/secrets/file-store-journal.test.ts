import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore, type FileStoreOptions } from '../../src/secrets/file/index.js';
import {
  COMMITTED_OFFSET,
  RECORD_OVERHEAD,
  RECORDS_OFFSET,
  committedSlot,
} from '../../src/secrets/file/journal.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { acquireFileLock } from '../../src/util/file-lock.js';
import { jsonSecret, passwordIn } from '../support/secret-text.js';
import { collectErrorText } from './support.js';
import { caught } from '../support/store-error.js';

let dir = '';
let path = '';
let key: Buffer;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-journal-'));
  path = join(dir, 'secrets.enc');
  key = randomBytes(32);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jpath = () => `${path}.journal`;
const open = (extra: Partial<FileStoreOptions> = {}) => createFileStore({ path, keyBytes: key, ...extra });
const tok = (n: number) => `tok-${String(n).padStart(36, '0')}`;

/** [start, end) of each record up to the committed end. */
function records(journal: Buffer): [number, number][] {
  const committed = Number(journal.readBigUInt64BE(COMMITTED_OFFSET));
  const out: [number, number][] = [];
  for (let pos = RECORDS_OFFSET; pos < committed;) {
    const end = pos + RECORD_OVERHEAD + journal.readUInt32BE(pos);
    out.push([pos, end]);
    pos = end;
  }
  return out;
}

/** The journal with its committed end set to `end` (as if its writer died before marking it). */
function withCommitted(journal: Buffer, end: number): Buffer {
  const copy = Buffer.from(journal);
  committedSlot(key, journal.subarray(5, 21), end).copy(copy, COMMITTED_OFFSET);
  return copy;
}

/** What a reader sees of secrets a and b. */
async function view(store: SecretStore) {
  return {
    a: await store.describe('a'),
    b: await store.describe('b'),
    aCurrent: await store.getCurrent('a'),
    bPending: await store.getPending('b'),
    bCurrent: await store.getCurrent('b'),
  };
}

/**
 * A snapshot (stage a) and a journal of three records: promote a, stage b, promote b. Returns the
 * passwords used and the view after each commit.
 */
async function threeRecords() {
  const store = open();
  const texts = [jsonSecret(`Pw-${randomUUID()}`), jsonSecret(`Pw-${randomUUID()}`)];
  const views = [];
  await store.stagePending('a', tok(1), texts[0]!);
  views.push(await view(store));
  await store.promote('a', tok(1));
  views.push(await view(store));
  await store.stagePending('b', tok(2), texts[1]!);
  views.push(await view(store));
  await store.promote('b', tok(2));
  views.push(await view(store));
  const journal = await readFile(jpath());
  expect(records(journal)).toHaveLength(3);
  expect(journal.length).toBe(records(journal)[2]![1]);
  return { texts, views, journal, snapshot: await readFile(path) };
}

/** A fresh store on `journal` reads and writes `corrupt`, names the journal, leaks nothing, changes nothing. */
async function expectCorrupt(journal: Buffer, texts: string[], label: string): Promise<void> {
  await writeFile(jpath(), journal);
  const store = open();
  const err = await caught(store.describe('a'));
  expect(err.kind, label).toBe('corrupt');
  expect(err.message, label).toContain(jpath());
  const err2 = await caught(store.stagePending('c', tok(9), jsonSecret('Pw-never-written')));
  expect(err2.kind, label).toBe('corrupt');
  for (const t of texts) expect(collectErrorText(err) + collectErrorText(err2)).not.toContain(passwordIn(t));
  expect((await readFile(jpath())).equals(journal), label).toBe(true);
}

describe('file store journal: damage to committed records is reported, never dropped', () => {
  it('truncating the last record at any offset is corrupt', async () => {
    const { journal, texts } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    for (let cut = start; cut < end; cut++) {
      await expectCorrupt(journal.subarray(0, cut), texts, `cut at ${cut}`);
    }
  });

  it('a flipped bit anywhere in a middle or the last record is corrupt', async () => {
    const { journal, texts } = await threeRecords();
    const [, middle, last] = records(journal);
    for (const [start, end] of [middle!, last!]) {
      for (let i = start; i < end; i++) {
        const bad = Buffer.from(journal);
        bad[i]! ^= 1 << (i % 8);
        await expectCorrupt(bad, texts, `bit flipped at ${i}`);
      }
    }
  });

  it('a damaged length prefix of a middle record is corrupt, even one reaching past the end', async () => {
    const { journal, texts } = await threeRecords();
    const [start] = records(journal)[1]!;
    for (const length of [
      0,
      1,
      journal.readUInt32BE(start) - 1,
      journal.readUInt32BE(start) + 1,
      0x00ffffff,
    ]) {
      const bad = Buffer.from(journal);
      bad.writeUInt32BE(length, start);
      await expectCorrupt(bad, texts, `length ${length}`);
    }
  });

  it('a damaged header or committed end is corrupt', async () => {
    const { journal, texts } = await threeRecords();
    for (const i of [0, 4, 5, 20, 21, 36, COMMITTED_OFFSET + 7, RECORDS_OFFSET - 1]) {
      const bad = Buffer.from(journal);
      bad[i]! ^= 0x10;
      await expectCorrupt(bad, texts, `byte ${i}`);
    }
    // A committed end past the end of the file (the file was truncated at a record boundary).
    await expectCorrupt(withCommitted(journal, journal.length + RECORD_OVERHEAD + 10), texts, 'past the end');
  });
});

describe('file store journal: a record past the committed end (its writer died)', () => {
  it('is kept when whole: a reader recovers it once under the lock and marks it committed', async () => {
    const { journal, views } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    await writeFile(jpath(), withCommitted(journal, start));
    expect(await view(open())).toEqual(views[3]);
    const after = await readFile(jpath());
    expect(Number(after.readBigUInt64BE(COMMITTED_OFFSET))).toBe(end);
  });

  it('is dropped when torn at any offset, and the next commit cuts the torn end off', async () => {
    const { journal, views } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    const uncommitted = withCommitted(journal, start);
    for (let cut = start + 1; cut < end; cut++) {
      await writeFile(jpath(), uncommitted.subarray(0, cut));
      // Held: a reader that cannot take the lock reads the committed state only.
      const lock = await acquireFileLock(path);
      try {
        expect(await view(open({ lockTimeoutMs: 20 })), `cut at ${cut}`).toEqual(views[2]);
      } finally {
        await lock.release();
      }
      expect((await stat(jpath())).size).toBe(cut);
      const writer = open();
      await writer.stagePending('c', tok(3), 'c-text');
      const j = await readFile(jpath());
      const recs = records(j);
      expect(recs.map(([s]) => s).slice(0, 3), `cut at ${cut}`).toEqual([RECORDS_OFFSET, recs[1]![0], start]);
      expect(j.length).toBe(recs.at(-1)![1]);
      expect(await view(open()), `cut at ${cut}`).toEqual(views[2]);
      expect((await open().getPending('c'))?.text).toBe('c-text');
    }
  });

  it('is dropped when zero-filled (the file grew but its data was never written)', async () => {
    const { journal, views } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    const zeroed = withCommitted(journal, start);
    zeroed.fill(0, start, end);
    await writeFile(jpath(), Buffer.concat([zeroed, Buffer.alloc(4096)]));
    expect(await view(open())).toEqual(views[2]);
    expect((await stat(jpath())).size).toBe(start);
  });

  it('is corrupt when whole in length but failing authentication, or when its length is damaged', async () => {
    const { journal, texts } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    const uncommitted = withCommitted(journal, start);
    for (const i of [start, start + 3, start + 4, start + 19, start + 20, start + 40, end - 17, end - 1]) {
      const bad = Buffer.from(uncommitted);
      bad[i]! ^= 0x04;
      await expectCorrupt(bad, texts, `uncommitted, byte ${i}`);
    }
    // A bad record followed by non-zero bytes is never a torn tail.
    const bad = Buffer.concat([
      uncommitted.subarray(0, start),
      Buffer.from([0, 0, 0, 0]),
      uncommitted.subarray(start + 4),
    ]);
    await expectCorrupt(bad, texts, 'zeroed length, data after it');
  });
});

describe('file store journal: failed syncs and cuts', () => {
  it('a commit whose sync fails never takes effect, and no reader sees it while it syncs', async () => {
    const { views } = await threeRecords();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let syncing!: () => void;
    const syncStarted = new Promise<void>((r) => (syncing = r));
    let fail = true;
    const store = open({
      journalIo: {
        datasync: async (h) => {
          if (!fail) return h.datasync();
          syncing();
          await gate;
          fail = false;
          throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        },
      },
    });
    const text = jsonSecret(`Pw-${randomUUID()}`);
    const staging = caught(store.stagePending('c', tok(3), text));
    await syncStarted;
    // Written, not synced: another reader (another store object, as another process) does not see it.
    // (It waits at most 100 ms for the lock to recover what lies past the committed end.)
    const reader = open({ lockTimeoutMs: 100 });
    expect(await reader.getPending('c')).toBeUndefined();
    expect(await view(reader)).toEqual(views[3]);
    release();
    const err = await staging;
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/EIO/);
    expect(err.message).toMatch(/commit was not made/);
    expect(collectErrorText(err)).not.toContain(passwordIn(text));
    // Cut off again: gone for this store, a new one, and the file.
    const j = await readFile(jpath());
    expect(j.length).toBe(records(j).at(-1)![1]);
    expect(records(j)).toHaveLength(3);
    expect(await store.getPending('c')).toBeUndefined();
    expect(await open().getPending('c')).toBeUndefined();
    // The store goes on.
    await store.stagePending('c', tok(4), 'after');
    expect((await open().getPending('c'))?.versionId).toBe(tok(4));
  });

  it('a failed cut after a failed sync is its own error, and the store refuses commits until reopened', async () => {
    await threeRecords();
    const eio = () => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const store = open({
      journalIo: {
        datasync: () => Promise.reject(eio()),
        truncate: () => Promise.reject(eio()),
      },
    });
    const err = await caught(store.promote('b', tok(2)).then(() => store.stagePending('c', tok(3), 'x')));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/cutting its record off .* failed too/);
    expect(err.message).toMatch(/may still take effect/);
    expect(err.message).toMatch(/refuses commits until it is reopened/);
    // Not marked committed: readers do not see it.
    expect(await store.getPending('c')).toBeUndefined();
    const again = await caught(store.dropPending('b', tok(2)));
    expect(again).toBe(err);
    // A new store object (a restart) recovers the whole record, as the error said it may.
    const reopened = open();
    expect((await reopened.getPending('c'))?.text).toBe('x');
    await reopened.stagePending('d', tok(5), 'y');
    expect((await open().getPending('d'))?.text).toBe('y');
  });

  it('a failed cut of a torn tail is its own error and writes nothing', async () => {
    const { journal, views } = await threeRecords();
    const [start, end] = records(journal)[2]!;
    const torn = withCommitted(journal, start).subarray(0, end - 5);
    await writeFile(jpath(), torn);
    const store = open({
      journalIo: { truncate: () => Promise.reject(Object.assign(new Error('EROFS'), { code: 'EROFS' })) },
    });
    const err = await caught(store.stagePending('c', tok(3), 'x'));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/cannot cut off the torn end of journal .* \(EROFS\)/);
    expect((await readFile(jpath())).equals(torn)).toBe(true);
    await open().stagePending('c', tok(3), 'x');
    expect(await view(open())).toEqual(views[2]);
  });
});

describe('file store journal: compaction and the two files', () => {
  it('compacts into a new snapshot and journal; a crash between the two leaves the new state', async () => {
    const store = open({ compactBytes: 0 });
    await store.stagePending('a', tok(1), 'one');
    const oldSnapshot = await readFile(path);
    let oldJournal = await readFile(jpath());
    // Grow the journal past the snapshot's size, keeping the journal as it was just before the
    // commit that compacts.
    let n = 2;
    for (;;) {
      const before = await readFile(jpath());
      await store.stagePending('a', tok(n), `v${n}`);
      n += 1;
      if (!(await readFile(path)).equals(oldSnapshot)) {
        oldJournal = before;
        break;
      }
    }
    const expected = await view(store);
    expect(await view(open())).toEqual(expected);
    // Crash after the snapshot's rename, before the journal's: the old journal is ignored.
    await writeFile(jpath(), oldJournal);
    expect(await view(open())).toEqual(expected);
    await open().promote('a', tok(n - 1));
    expect((await open().getCurrent('a'))?.text).toBe(`v${n - 1}`);
    expect(records(await readFile(jpath()))).toHaveLength(1);
  });

  it('another snapshot’s journal, a missing journal or a journal without its snapshot is corrupt', async () => {
    const { texts, journal, snapshot } = await threeRecords();
    // A journal from another store (same key, another generation).
    const otherPath = join(dir, 'other.enc');
    const other = createFileStore({ path: otherPath, keyBytes: key });
    await other.stagePending('a', tok(1), 'x');
    await other.stagePending('a', tok(2), 'y');
    await expectCorrupt(await readFile(`${otherPath}.journal`), texts, 'foreign journal');
    // Compacted once (the snapshot names a replaced generation): its journal may not go missing.
    await writeFile(jpath(), journal);
    const compacting = open({ compactBytes: 0 });
    for (let i = 0; (await readFile(path)).equals(snapshot); i++) {
      await compacting.stagePending('z', tok(100 + i), `z${i}`);
    }
    await unlink(jpath());
    const err = await caught(open().describe('a'));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toMatch(/missing/);
    // A journal whose snapshot is gone.
    await writeFile(jpath(), journal);
    await unlink(path);
    const err2 = await caught(open().describe('a'));
    expect(err2.kind).toBe('corrupt');
    expect(err2.message).toContain(path);
  });

  it('a reader in another store object follows appends and compactions', async () => {
    const writer = open({ compactBytes: 0 });
    const reader = open();
    for (let i = 1; i <= 30; i++) {
      await writer.stagePending('a', tok(i), `t${i}`);
      expect((await reader.getPending('a'))?.text).toBe(`t${i}`);
      if (i % 3 === 0) {
        await writer.promote('a', tok(i));
        expect((await reader.getCurrent('a'))?.text).toBe(`t${i}`);
      }
    }
    expect(await reader.describe('a')).toEqual(await open().describe('a'));
  });
});
