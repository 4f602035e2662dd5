import type { BigIntStats, promises as fs } from 'node:fs';
import { SecretStoreError } from '../types.js';
import { EnvelopeError, open } from './envelope.js';
import { corrupt, journalCorrupt, type StoreFiles, unavailable } from './errors.js';
import { openFile, readRange, stampOf, statNow } from './io.js';
import {
  type JournalHead,
  JournalError,
  RECORDS_OFFSET,
  type RecordsRead,
  readJournalHead,
  readRecords,
} from './journal.js';
import { emptyState, parseSecretEntry, parseSnapshot, type SnapshotMeta, type StoreState } from './state.js';

/** The journal that continues the loaded snapshot, read up to its committed end. */
export interface JournalView {
  dev: bigint;
  ino: bigint;
  generation: Buffer;
  /** The committed end the state was read to. */
  committed: number;
}

export interface Loaded {
  state: StoreState;
  /** Identity of the snapshot read (undefined: there is none). */
  snapStamp: string | undefined;
  snapshotSize: number;
  /** Undefined: a single-file store (format 1 or 2) or none yet. */
  meta: SnapshotMeta | undefined;
  /** Undefined: no journal continues the snapshot (none yet, or one a compaction replaced). */
  journal: JournalView | undefined;
  /** Identity of the journal file read ('-': none). */
  journalStamp: string;
  /**
   * The journal held nothing past its committed end when read: unchanged identities then mean
   * unchanged content. Past it lies a commit being written (or one a dead writer left), and a
   * later commit mark may not change the file's size or (coarse) mtime: such a read is not cached.
   */
  settled: boolean;
}

export const emptyLoaded = (): Loaded => ({
  state: emptyState(),
  snapStamp: undefined,
  snapshotSize: 0,
  meta: undefined,
  journal: undefined,
  journalStamp: '-',
  settled: true,
});

/** Decrypts and parses a snapshot; damage is a corrupt error that quotes no content. */
export function decode(
  files: StoreFiles,
  key: Buffer,
  bytes: Buffer,
): { state: StoreState; meta: SnapshotMeta | undefined } {
  let plain: Buffer;
  try {
    plain = open(key, bytes);
  } catch (err) {
    if (err instanceof EnvelopeError) throw corrupt(files, err.message);
    throw err;
  }
  try {
    return parseSnapshot(plain.toString('utf8'));
  } catch (err) {
    // A JSON SyntaxError quotes the text, which holds passwords: never pass it on.
    throw corrupt(files, err instanceof SyntaxError ? 'content is not JSON' : (err as Error).message);
  }
}

/** Applies journal records (plaintexts, in order) to `state`. */
export function replay(
  files: StoreFiles,
  state: StoreState,
  records: readonly Buffer[],
  firstOffset: number,
): void {
  for (const plain of records) {
    try {
      const data = JSON.parse(plain.toString('utf8')) as { put?: unknown } | null;
      if (data === null || typeof data !== 'object' || !Array.isArray(data.put)) {
        throw new Error('malformed journal record');
      }
      for (const entry of data.put) {
        const [id, secret] = parseSecretEntry(entry);
        state.secrets.set(id, secret);
      }
    } catch (err) {
      const reason = err instanceof SyntaxError ? 'is not JSON' : (err as Error).message;
      throw journalCorrupt(files, `a record after offset ${firstOffset}: ${reason}`);
    }
  }
}

export function readRecordsOrCorrupt(
  files: StoreFiles,
  key: Buffer,
  generation: Buffer,
  data: Buffer,
  offset: number,
  committed: boolean,
): RecordsRead {
  try {
    return readRecords(key, generation, data, offset, committed);
  } catch (err) {
    if (err instanceof JournalError) throw journalCorrupt(files, err.message);
    throw err;
  }
}

/** The journal's head (generation, committed end); a JournalError is a corrupt error. */
async function readHead(files: StoreFiles, key: Buffer, handle: fs.FileHandle): Promise<JournalHead> {
  const bytes = await readRange(handle, 0, RECORDS_OFFSET);
  try {
    return readJournalHead(key, bytes);
  } catch (err) {
    if (err instanceof JournalError) throw journalCorrupt(files, err.message);
    throw err;
  }
}

/** The committed records [from, head.committed) of an open journal. */
async function readCommitted(
  files: StoreFiles,
  key: Buffer,
  handle: fs.FileHandle,
  generation: Buffer,
  from: number,
  committed: number,
): Promise<Buffer[]> {
  const bytes = await readRange(handle, from, committed);
  if (bytes.length < committed - from) {
    throw journalCorrupt(
      files,
      `it ends at ${from + bytes.length}, before its committed end ${committed}: it was truncated`,
    );
  }
  return readRecordsOrCorrupt(files, key, generation, bytes, from, true).records;
}

/**
 * Snapshot, then journal, each from one handle, so with the identity of exactly the bytes read.
 * A journal that does not continue the snapshot read is damage only if that snapshot is still
 * in place: otherwise a compaction ran in between, and the read starts over.
 */
export async function readFull(files: StoreFiles, key: Buffer): Promise<Loaded | 'retry'> {
  const { path, journalPath } = files;
  const snapHandle = await openFile(path, 'r');
  if (!snapHandle) {
    if (statNow(journalPath)) {
      throw journalCorrupt(files, `the store file ${path} it continues is missing`);
    }
    return emptyLoaded();
  }
  let snapStat: BigIntStats;
  let bytes: Buffer;
  try {
    snapStat = await snapHandle.stat({ bigint: true });
    bytes = await snapHandle.readFile();
  } catch (err) {
    throw unavailable(path, err);
  } finally {
    await snapHandle.close();
  }
  const snapStamp = stampOf(snapStat);
  const { state, meta } = decode(files, key, bytes);
  const snapshotMoved = () => {
    const st = statNow(path);
    return st === undefined || stampOf(st) !== snapStamp;
  };
  const base = { state, snapStamp, snapshotSize: bytes.length, meta };
  const jHandle = await openFile(journalPath, 'r');
  if (!jHandle) {
    if (meta?.replaces == null) return { ...base, journal: undefined, journalStamp: '-', settled: true };
    if (snapshotMoved()) return 'retry';
    throw journalCorrupt(files, 'it is missing, and the store file says it has one');
  }
  try {
    let jStat: BigIntStats;
    try {
      jStat = await jHandle.stat({ bigint: true });
    } catch (err) {
      throw unavailable(journalPath, err);
    }
    if (!meta) {
      if (snapshotMoved()) return 'retry';
      throw journalCorrupt(
        files,
        `the store file ${path} is a single-file store (format 1 or 2), which has no journal`,
      );
    }
    let head: JournalHead;
    try {
      head = await readHead(files, key, jHandle);
    } catch (err) {
      if (snapshotMoved()) return 'retry';
      throw err;
    }
    const generation = head.generation.toString('hex');
    const jStamp = stampOf(jStat);
    if (generation === meta.replaces) {
      // Left by a compaction that stopped before it replaced the journal: its commits are in
      // the snapshot. Settled: the next change to it is its replacement (a new identity).
      return { ...base, journal: undefined, journalStamp: jStamp, settled: true };
    }
    if (generation !== meta.generation) {
      if (snapshotMoved()) return 'retry';
      throw journalCorrupt(
        files,
        'it belongs to another store file (were the two restored from different backups?)',
      );
    }
    const records = await readCommitted(files, key, jHandle, head.generation, RECORDS_OFFSET, head.committed);
    replay(files, state, records, RECORDS_OFFSET);
    return {
      ...base,
      journal: { dev: jStat.dev, ino: jStat.ino, generation: head.generation, committed: head.committed },
      journalStamp: jStamp,
      settled: jStat.size === BigInt(head.committed),
    };
  } catch (err) {
    if (err instanceof SecretStoreError) throw err;
    throw unavailable(journalPath, err);
  } finally {
    await jHandle.close();
  }
}

/**
 * The cached state's journal changed in place (commits by another process): reads the records
 * committed since. Undefined when it is not the same journal any more.
 */
export async function readGrown(
  files: StoreFiles,
  key: Buffer,
  base: Loaded,
  journal: JournalView,
): Promise<Loaded | undefined> {
  const { journalPath } = files;
  const handle = await openFile(journalPath, 'r');
  if (!handle) return undefined;
  try {
    const st = await handle.stat({ bigint: true });
    if (st.dev !== journal.dev || st.ino !== journal.ino) return undefined;
    const head = await readHead(files, key, handle);
    if (!head.generation.equals(journal.generation)) return undefined;
    if (head.committed < journal.committed) {
      throw journalCorrupt(
        files,
        `its committed end went back from ${journal.committed} to ${head.committed}`,
      );
    }
    let state = base.state;
    if (head.committed > journal.committed) {
      const records = await readCommitted(
        files,
        key,
        handle,
        journal.generation,
        journal.committed,
        head.committed,
      );
      state = { secrets: new Map(base.state.secrets) };
      replay(files, state, records, journal.committed);
    }
    return {
      ...base,
      state,
      journal: { ...journal, committed: head.committed },
      journalStamp: stampOf(st),
      settled: st.size === BigInt(head.committed),
    };
  } catch (err) {
    if (err instanceof SecretStoreError) throw err;
    throw unavailable(journalPath, err);
  } finally {
    await handle.close();
  }
}
