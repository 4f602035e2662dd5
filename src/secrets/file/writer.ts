import type { promises as fs } from 'node:fs';
import { SecretStoreError } from '../types.js';
import { writeFileAtomic } from './atomic-write.js';
import { sealChunks } from './envelope.js';
import { codeOf, journalCorrupt, type StoreFiles, unavailable } from './errors.js';
import { openFile, readRange, stampOf, statNow, writeAt } from './io.js';
import {
  COMMITTED_OFFSET,
  RECORDS_OFFSET,
  committedSlot,
  journalHeader,
  newGeneration,
  sealRecord,
} from './journal.js';
import { type Loaded, readRecordsOrCorrupt, replay } from './reader.js';
import {
  secretFragment,
  serializeStateChunks,
  type SnapshotMeta,
  type StoredSecret,
  type StoreState,
} from './state.js';

export interface JournalIo {
  datasync(handle: fs.FileHandle): Promise<void>;
  truncate(handle: fs.FileHandle, length: number): Promise<void>;
}

/** The write side of a file store: journal recovery, appending a commit, compaction. */
export interface JournalWriter {
  prepareJournal(key: Buffer, loaded: Loaded): Promise<{ loaded: Loaded; handle: fs.FileHandle } | undefined>;
  append(
    key: Buffer,
    loaded: Loaded,
    handle: fs.FileHandle,
    next: StoreState,
    changedIds: ReadonlySet<string>,
  ): Promise<Loaded>;
  compact(key: Buffer, loaded: Loaded, next: StoreState): Promise<Loaded>;
  /**
   * Set when a commit's record may be on disk while its caller was told it failed (its sync or
   * commit mark failed, and so did cutting it off): the store then refuses every commit, so it
   * cannot build on a state that is not what is on disk. A new store object (a restart) reads the
   * file again.
   */
  poisoned(): SecretStoreError | undefined;
  /**
   * Wall time of the last compaction's serialise + encrypt (the part that grows with the store: tens
   * of milliseconds at 10,000 secrets, while an append encodes one commit's secrets).
   */
  lastEncodeMs(): number;
}

export function createJournalWriter(files: StoreFiles, io: JournalIo): JournalWriter {
  const { path, journalPath } = files;
  /** Serialized secrets: a commit serializes only the secrets it cloned and changed. */
  const fragments = new WeakMap<StoredSecret, string>();
  let poisoned: SecretStoreError | undefined;
  let lastEncodeMs = 0;

  async function writeCommitted(handle: fs.FileHandle, key: Buffer, generation: Buffer, end: number) {
    await writeAt(handle, committedSlot(key, generation, end), COMMITTED_OFFSET);
  }

  /**
   * Under the lock: brings the journal to the state `loaded` describes and returns the handle to
   * append to. Records a dead writer left past the committed end are kept if they are whole and
   * authentic (synced or not, their commit is the new state of a crash), a torn end is cut off,
   * then the new end is synced and marked committed. A missing journal (a compaction cut short, or
   * a store's first snapshot) is created. Undefined for a single-file store (it is compacted).
   */
  async function prepareJournal(
    key: Buffer,
    loaded: Loaded,
  ): Promise<{ loaded: Loaded; handle: fs.FileHandle } | undefined> {
    const meta = loaded.meta;
    if (!meta) return undefined;
    const generation = Buffer.from(meta.generation, 'hex');
    if (!loaded.journal) {
      await writeFileAtomic(journalPath, journalHeader(key, generation));
      const st = statNow(journalPath);
      if (!st) throw unavailable(journalPath, Object.assign(new Error(), { code: 'ENOENT' }));
      loaded = {
        ...loaded,
        journal: { dev: st.dev, ino: st.ino, generation, committed: RECORDS_OFFSET },
        journalStamp: stampOf(st),
        settled: true,
      };
    }
    const journal = loaded.journal!;
    const handle = await openFile(journalPath, 'r+');
    if (!handle) throw unavailable(journalPath, Object.assign(new Error(), { code: 'ENOENT' }));
    try {
      const st = await handle.stat({ bigint: true });
      if (st.dev !== journal.dev || st.ino !== journal.ino) {
        throw new SecretStoreError(
          'unavailable',
          `journal ${journalPath} was replaced while this process held the lock; try again`,
        );
      }
      const size = Number(st.size);
      if (size < journal.committed) {
        throw journalCorrupt(
          files,
          `it ends at ${size}, before its committed end ${journal.committed}: it was truncated`,
        );
      }
      if (size > journal.committed) {
        const tail = await readRange(handle, journal.committed, size);
        const read = readRecordsOrCorrupt(files, key, generation, tail, journal.committed, false);
        let state = loaded.state;
        if (read.records.length > 0) {
          state = { secrets: new Map(loaded.state.secrets) };
          replay(files, state, read.records, journal.committed);
        }
        if (read.end < size) {
          try {
            await io.truncate(handle, read.end);
          } catch (err) {
            throw new SecretStoreError(
              'unavailable',
              `cannot cut off the torn end of journal ${journalPath} at ${read.end} ` +
                `(${(err as NodeJS.ErrnoException).code ?? 'error'}); nothing was written`,
              { cause: err },
            );
          }
        }
        await io.datasync(handle);
        await writeCommitted(handle, key, generation, read.end);
        await io.datasync(handle);
        loaded = {
          ...loaded,
          state,
          journal: { ...journal, committed: read.end },
          journalStamp: stampOf(await handle.stat({ bigint: true })),
          settled: true,
        };
      }
      return { loaded, handle };
    } catch (err) {
      await handle.close();
      if (err instanceof SecretStoreError) throw err;
      throw new SecretStoreError(
        'unavailable',
        `cannot recover journal ${journalPath} (${codeOf(err)}); nothing was marked committed`,
        { cause: err },
      );
    }
  }

  /**
   * Appends one record holding the secrets in `changedIds` (as they are in `next`), syncs it, then
   * marks it committed: only then can a reader see it. A failed write or sync cuts the record off
   * again (and syncs that) before the commit is reported failed; if that fails too, the commit's
   * fate is unknown, and that is reported as such.
   */
  async function append(
    key: Buffer,
    loaded: Loaded,
    handle: fs.FileHandle,
    next: StoreState,
    changedIds: ReadonlySet<string>,
  ): Promise<Loaded> {
    const journal = loaded.journal!;
    const parts: string[] = [];
    for (const id of changedIds) {
      const secret = next.secrets.get(id);
      if (secret) parts.push(secretFragment(id, secret, fragments));
    }
    const record = sealRecord(
      key,
      journal.generation,
      journal.committed,
      Buffer.from(`{"put":[${parts.join(',')}]}`, 'utf8'),
    );
    const end = journal.committed + record.length;
    try {
      await writeAt(handle, record, journal.committed);
      await io.datasync(handle);
    } catch (err) {
      try {
        await io.truncate(handle, journal.committed);
        await io.datasync(handle);
      } catch (undoErr) {
        poisoned = new SecretStoreError(
          'unavailable',
          `file store ${path}: a commit failed (${codeOf(err)}) and cutting its record off journal ${journalPath} ` +
            `failed too (${codeOf(undoErr)}): it may still take effect. This store refuses commits until it is reopened`,
          { cause: undoErr },
        );
        throw poisoned;
      }
      throw new SecretStoreError(
        'unavailable',
        `cannot write journal ${journalPath} (${codeOf(err)}); the commit was not made`,
        { cause: err },
      );
    }
    try {
      await writeCommitted(handle, key, journal.generation, end);
    } catch (err) {
      poisoned = new SecretStoreError(
        'unavailable',
        `file store ${path}: a commit was synced to journal ${journalPath} but could not be marked committed ` +
          `(${codeOf(err)}): it takes effect at the next write by another process or after a restart. ` +
          `This store refuses commits until it is reopened`,
        { cause: err },
      );
      throw poisoned;
    }
    return {
      ...loaded,
      state: next,
      journal: { ...journal, committed: end },
      journalStamp: stampOf(await handle.stat({ bigint: true })),
      settled: true,
    };
  }

  /**
   * Writes `next` as a new snapshot with a new generation (the commit point), then an empty journal
   * for it. A crash in between leaves the old journal, which the new snapshot names as the one it
   * replaced: it is ignored (its commits are in the snapshot), and the next commit replaces it.
   */
  async function compact(key: Buffer, loaded: Loaded, next: StoreState): Promise<Loaded> {
    const generation = newGeneration();
    const meta: SnapshotMeta = {
      generation: generation.toString('hex'),
      replaces: loaded.meta?.generation ?? null,
    };
    const encodeStart = performance.now();
    const sealed = sealChunks(key, serializeStateChunks(next, fragments, undefined, meta));
    lastEncodeMs = performance.now() - encodeStart;
    await writeFileAtomic(path, sealed);
    const snap = statNow(path);
    const done: Loaded = {
      state: next,
      snapStamp: snap && stampOf(snap),
      snapshotSize: sealed.reduce((n, b) => n + b.length, 0),
      meta,
      journal: undefined,
      journalStamp: '?',
      settled: false,
    };
    try {
      await writeFileAtomic(journalPath, journalHeader(key, generation));
    } catch {
      // The commit is in the snapshot; the next commit creates the journal.
      return done;
    }
    const jst = statNow(journalPath);
    if (!snap || !jst) return done;
    return {
      ...done,
      journal: { dev: jst.dev, ino: jst.ino, generation, committed: RECORDS_OFFSET },
      journalStamp: stampOf(jst),
      settled: true,
    };
  }

  return {
    prepareJournal,
    append,
    compact,
    poisoned: () => poisoned,
    lastEncodeMs: () => lastEncodeMs,
  };
}
