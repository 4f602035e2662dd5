import { type BigIntStats, promises as fs, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretRef } from '../../config/schema.js';
import { SecretStoreError, type SecretStore } from '../types.js';
import { assertSecretId, assertSecretText, assertToken } from '../value.js';
import {
  FileLockTimeoutError,
  acquireFileLock,
  lockPathFor,
  sweepAtMostEveryMinute,
} from '../../util/file-lock.js';
import { removeStaleTemps, tempPrefix, writeFileAtomic } from './atomic-write.js';
import { EnvelopeError, open, sealChunks } from './envelope.js';
import {
  COMMITTED_OFFSET,
  type JournalHead,
  JournalError,
  RECORDS_OFFSET,
  type RecordsRead,
  committedSlot,
  journalHeader,
  newGeneration,
  readJournalHead,
  readRecords,
  sealRecord,
} from './journal.js';
import { createKeyFile, keyFromRef, readKeyFile } from './key.js';
import {
  DEFAULT_MAX_VERSIONS,
  describeSecret,
  dropPendingIn,
  emptyState,
  findByStage,
  findVersion,
  parseSecretEntry,
  parseSnapshot,
  promoteIn,
  secretFragment,
  serializeStateChunks,
  type SnapshotMeta,
  stagePendingIn,
  type StoredSecret,
  type StoreState,
  toVersion,
} from './state.js';

export interface FileStoreOptions {
  /**
   * The store file (a snapshot). Its journal is `<path>.journal`, its key file (when `key` is not
   * given) `<path>.key`, its lock `<path>.lock`.
   */
  path: string;
  /** Reference to the key (32 bytes, base64 or hex). */
  key?: SecretRef | undefined;
  /** The key itself (embedding, tests); wins over `key`. */
  keyBytes?: Buffer | undefined;
  /** Environment used to resolve `key` (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** How long a write waits for another process's lock (default 10 s). */
  lockTimeoutMs?: number | undefined;
  /** Versions kept per secret (default 100); labelled versions are never dropped. */
  maxVersions?: number | undefined;
  /** Epoch ms, for version dates (default Date.now). */
  now?: (() => number) | undefined;
  /**
   * A commit writes a new snapshot instead of appending to the journal once the journal holds more
   * than both this many bytes (default 1 MiB) and the snapshot's size. Small values are for tests.
   */
  compactBytes?: number | undefined;
  /**
   * The journal's sync and truncate calls (default: the file handle's own). Tests pass versions
   * that fail or wait, to show what a failed sync or a failed cut leaves behind.
   */
  journalIo?: Partial<JournalIo> | undefined;
}

export interface JournalIo {
  datasync(handle: fs.FileHandle): Promise<void>;
  truncate(handle: fs.FileHandle, length: number): Promise<void>;
}

export const DEFAULT_COMPACT_BYTES = 1024 * 1024;

export interface FileStore extends SecretStore {
  readonly type: 'file';
  readonly path: string;
  readonly keyPath: string;
  readonly lockPath: string;
  readonly journalPath: string;
}

/**
 * The embedded store, the AWS Secrets Manager version model: an AES-256-GCM encrypted snapshot and
 * an encrypted journal of the commits made since (journal.ts), so a commit writes what changed.
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  const path = options.path;
  const keyPath = `${path}.key`;
  const lockPath = lockPathFor(path);
  const journalPath = `${path}.journal`;
  const compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
  const io: JournalIo = {
    datasync: options.journalIo?.datasync ?? ((h) => h.datasync()),
    truncate: options.journalIo?.truncate ?? ((h, length) => h.truncate(length)),
  };
  const now = options.now ?? Date.now;
  const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
  const configuredKey = options.keyBytes ?? (options.key ? keyFromRef(options.key, options.env) : undefined);
  let cachedKey = configuredKey;

  const corrupt = (reason: string, cause?: unknown) =>
    new SecretStoreError(
      'corrupt',
      `file store ${path} cannot be read: ${reason}`,
      cause ? { cause } : undefined,
    );

  const missingKey = () =>
    new SecretStoreError(
      'invalid',
      `file store ${path} exists but its key file ${keyPath} is missing: restore the key file or set store.key`,
    );

  async function existingKey(): Promise<Buffer> {
    if (cachedKey) return cachedKey;
    const key = await readKeyFile(keyPath);
    if (!key) throw missingKey();
    cachedKey = key;
    return key;
  }

  function decode(key: Buffer, bytes: Buffer): { state: StoreState; meta: SnapshotMeta | undefined } {
    let plain: Buffer;
    try {
      plain = open(key, bytes);
    } catch (err) {
      if (err instanceof EnvelopeError) throw corrupt(err.message);
      throw err;
    }
    try {
      return parseSnapshot(plain.toString('utf8'));
    } catch (err) {
      // A JSON SyntaxError quotes the text, which holds passwords: never pass it on.
      throw corrupt(err instanceof SyntaxError ? 'content is not JSON' : (err as Error).message);
    }
  }

  const journalCorrupt = (reason: string) =>
    new SecretStoreError(
      'corrupt',
      `file store journal ${journalPath} cannot be read: ${reason}; nothing was dropped or changed. ` +
        `Restore the store file and its journal together from one backup (see docs/operations.md)`,
    );

  /** Applies journal records (plaintexts, in order) to `state`. */
  function replay(state: StoreState, records: readonly Buffer[], firstOffset: number): void {
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
        throw journalCorrupt(`a record after offset ${firstOffset}: ${reason}`);
      }
    }
  }

  function readRecordsOrCorrupt(
    key: Buffer,
    generation: Buffer,
    data: Buffer,
    offset: number,
    committed: boolean,
  ): RecordsRead {
    try {
      return readRecords(key, generation, data, offset, committed);
    } catch (err) {
      if (err instanceof JournalError) throw journalCorrupt(err.message);
      throw err;
    }
  }

  /** The journal that continues the loaded snapshot, read up to its committed end. */
  interface JournalView {
    dev: bigint;
    ino: bigint;
    generation: Buffer;
    /** The committed end the state was read to. */
    committed: number;
  }

  interface Loaded {
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

  const emptyLoaded = (): Loaded => ({
    state: emptyState(),
    snapStamp: undefined,
    snapshotSize: 0,
    meta: undefined,
    journal: undefined,
    journalStamp: '-',
    settled: true,
  });

  /**
   * The last state this process read or wrote, with the identity of both files it came from. The
   * snapshot is only ever replaced by rename (a new inode), the journal appended to (or replaced
   * by rename): a settled read with unchanged stats costs two stats instead of read + decrypt +
   * parse. A journal that grew is read from where the cached state stopped.
   */
  let cache: Loaded | undefined;

  const stampOf = (st: BigIntStats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

  const unavailable = (file: string, err: unknown) =>
    new SecretStoreError(
      'unavailable',
      `cannot read file store ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );

  /**
   * Synchronous on purpose: a stat of a local file takes microseconds, while the promise version
   * (thread pool, BigIntStats, promise) cost more CPU than anything else in a cached read.
   */
  function statNow(file: string): BigIntStats | undefined {
    try {
      return statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      throw unavailable(file, err);
    }
  }

  async function openFile(file: string, flags: 'r' | 'r+'): Promise<fs.FileHandle | undefined> {
    try {
      return await fs.open(file, flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unavailable(file, err);
    }
  }

  /** Bytes [start, end) of an open file (fewer if it is shorter). */
  async function readRange(handle: fs.FileHandle, start: number, end: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(Math.max(0, end - start));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  /** The journal's head (generation, committed end); a JournalError is a corrupt error. */
  async function readHead(key: Buffer, handle: fs.FileHandle): Promise<JournalHead> {
    const bytes = await readRange(handle, 0, RECORDS_OFFSET);
    try {
      return readJournalHead(key, bytes);
    } catch (err) {
      if (err instanceof JournalError) throw journalCorrupt(err.message);
      throw err;
    }
  }

  /** The committed records [from, head.committed) of an open journal. */
  async function readCommitted(
    key: Buffer,
    handle: fs.FileHandle,
    generation: Buffer,
    from: number,
    committed: number,
  ): Promise<Buffer[]> {
    const bytes = await readRange(handle, from, committed);
    if (bytes.length < committed - from) {
      throw journalCorrupt(
        `it ends at ${from + bytes.length}, before its committed end ${committed}: it was truncated`,
      );
    }
    return readRecordsOrCorrupt(key, generation, bytes, from, true).records;
  }

  /**
   * Snapshot, then journal, each from one handle, so with the identity of exactly the bytes read.
   * A journal that does not continue the snapshot read is damage only if that snapshot is still
   * in place: otherwise a compaction ran in between, and the read starts over.
   */
  async function readFull(key: Buffer): Promise<Loaded | 'retry'> {
    const snapHandle = await openFile(path, 'r');
    if (!snapHandle) {
      if (statNow(journalPath)) {
        throw journalCorrupt(`the store file ${path} it continues is missing`);
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
    const { state, meta } = decode(key, bytes);
    const snapshotMoved = () => {
      const st = statNow(path);
      return st === undefined || stampOf(st) !== snapStamp;
    };
    const base = { state, snapStamp, snapshotSize: bytes.length, meta };
    const jHandle = await openFile(journalPath, 'r');
    if (!jHandle) {
      if (meta?.replaces == null) return { ...base, journal: undefined, journalStamp: '-', settled: true };
      if (snapshotMoved()) return 'retry';
      throw journalCorrupt('it is missing, and the store file says it has one');
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
          `the store file ${path} is a single-file store (format 1 or 2), which has no journal`,
        );
      }
      let head: JournalHead;
      try {
        head = await readHead(key, jHandle);
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
          'it belongs to another store file (were the two restored from different backups?)',
        );
      }
      const records = await readCommitted(key, jHandle, head.generation, RECORDS_OFFSET, head.committed);
      replay(state, records, RECORDS_OFFSET);
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
  async function readGrown(key: Buffer, base: Loaded, journal: JournalView): Promise<Loaded | undefined> {
    const handle = await openFile(journalPath, 'r');
    if (!handle) return undefined;
    try {
      const st = await handle.stat({ bigint: true });
      if (st.dev !== journal.dev || st.ino !== journal.ino) return undefined;
      const head = await readHead(key, handle);
      if (!head.generation.equals(journal.generation)) return undefined;
      if (head.committed < journal.committed) {
        throw journalCorrupt(`its committed end went back from ${journal.committed} to ${head.committed}`);
      }
      let state = base.state;
      if (head.committed > journal.committed) {
        const records = await readCommitted(
          key,
          handle,
          journal.generation,
          journal.committed,
          head.committed,
        );
        state = { secrets: new Map(base.state.secrets) };
        replay(state, records, journal.committed);
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

  /** The committed state; `key` is given under the write lock (it may have just been created). */
  async function loadState(key?: Buffer): Promise<Loaded> {
    for (let attempt = 0; ; attempt++) {
      const snap = statNow(path);
      const jst = statNow(journalPath);
      if (snap === undefined && jst === undefined) return emptyLoaded();
      const snapStamp = snap && stampOf(snap);
      const base = cache;
      if (base?.settled && base.snapStamp === snapStamp && base.journalStamp === (jst ? stampOf(jst) : '-')) {
        return base;
      }
      const k = key ?? (await existingKey());
      if (base?.journal && base.snapStamp === snapStamp && jst?.ino === base.journal.ino) {
        const grown = await readGrown(k, base, base.journal);
        if (grown) {
          cache = grown;
          return grown;
        }
      }
      const full = await readFull(k);
      if (full !== 'retry') {
        cache = full.snapStamp === undefined ? undefined : full;
        return full;
      }
      if (attempt >= 50) {
        throw new SecretStoreError(
          'unavailable',
          `file store ${path} kept changing while it was read; try again`,
        );
      }
    }
  }

  const readState = async () => {
    const loaded = await loadState();
    if (loaded.settled || recoveryTried) return loaded.state;
    await recoverOnce();
    return (await loadState()).state;
  };

  /**
   * Set when a commit's record may be on disk while its caller was told it failed (its sync or
   * commit mark failed, and so did cutting it off): this object then refuses every commit, so it
   * cannot build on a state that is not what is on disk. A new store object (a restart) reads the
   * file again.
   */
  let poisoned: SecretStoreError | undefined;

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
          `it ends at ${size}, before its committed end ${journal.committed}: it was truncated`,
        );
      }
      if (size > journal.committed) {
        const tail = await readRange(handle, journal.committed, size);
        const read = readRecordsOrCorrupt(key, generation, tail, journal.committed, false);
        let state = loaded.state;
        if (read.records.length > 0) {
          state = { secrets: new Map(loaded.state.secrets) };
          replay(state, read.records, journal.committed);
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

  async function writeAt(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
      if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
      written += bytesWritten;
    }
  }

  async function writeCommitted(handle: fs.FileHandle, key: Buffer, generation: Buffer, end: number) {
    await writeAt(handle, committedSlot(key, generation, end), COMMITTED_OFFSET);
  }

  const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

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

  /**
   * A reader that found records past the committed end (a commit in progress, or one a dead
   * writer left, say after a power cut lost its commit mark) recovers them once under the lock, so
   * a restarted reader sees every commit that was acknowledged. Commits in progress wait for it.
   */
  let recoveryTried = false;
  async function recoverOnce(): Promise<void> {
    recoveryTried = true;
    // A poisoned store would recover its own failed commit: that is for a new store object.
    if (poisoned) return;
    let lock;
    try {
      lock = await acquireFileLock(path, { timeoutMs: Math.min(options.lockTimeoutMs ?? 2_000, 2_000) });
    } catch {
      return; // Held by a live writer: it finishes (or recovers) the commit itself.
    }
    try {
      const key = await existingKey();
      const prepared = await prepareJournal(key, await loadState(key));
      if (prepared) {
        await prepared.handle.close();
        cache = prepared.loaded;
      }
    } catch (err) {
      // Damage is reported; a journal this process may not write (or a busy disk) is left to a writer.
      if (!(err instanceof SecretStoreError) || err.kind !== 'unavailable') throw err;
    } finally {
      await lock.release();
    }
  }

  interface Mutation {
    secretId: string;
    apply: (state: StoreState) => { result: unknown; changed: boolean };
    resolve: (value: unknown) => void;
    reject: (err: unknown) => void;
  }

  /** Serialized secrets: a commit serializes only the secrets it cloned and changed. */
  const fragments = new WeakMap<StoredSecret, string>();
  let pending: Mutation[] = [];
  let flushing: Promise<void> | undefined;

  /**
   * Group commit: the mutations queued while a write is in progress go into the next one, under
   * one lock, one read and one write. Each is applied to a copy of the committed state in which
   * the secrets it touches are cloned, so readers see only what is on disk, and a mutation that
   * fails (conflict, not found: they check before they change anything) fails alone. The write is
   * one journal record of the secrets that changed or, when the journal has outgrown its snapshot
   * (or this is a single-file store, or a new one), a new snapshot.
   */
  let dirReady = false;
  async function commit(batch: Mutation[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      if (poisoned) throw poisoned;
      if (!dirReady) {
        await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
        dirReady = true;
      }
      const lock = await acquireFileLock(path, { timeoutMs: options.lockTimeoutMs }).catch((err: unknown) => {
        if (!(err instanceof FileLockTimeoutError)) throw err;
        throw new SecretStoreError(
          'unavailable',
          `${err.message}; if no rotator process runs, remove the lock file`,
          { cause: err },
        );
      });
      try {
        // Temp files of writers that died: swept at the first commit, then at most once a minute.
        await sweepAtMostEveryMinute(`${path} temps`, async () => {
          await removeStaleTemps(path, tempPrefix(path));
          await removeStaleTemps(journalPath, tempPrefix(journalPath));
        });
        const exists = statNow(path) !== undefined;
        let key = cachedKey ?? (await readKeyFile(keyPath));
        if (!key) {
          if (exists) throw missingKey();
          key = await createKeyFile(keyPath);
        }
        cachedKey = key;
        const loaded = await loadState(key);
        const prepared = await prepareJournal(key, loaded);
        try {
          const committed = prepared?.loaded ?? loaded;
          if (prepared) cache = prepared.loaded;
          const next: StoreState = { secrets: new Map(committed.state.secrets) };
          const cloned = new Set<string>();
          const changedIds = new Set<string>();
          for (const m of batch) {
            if (!cloned.has(m.secretId)) {
              const secret = next.secrets.get(m.secretId);
              if (secret) next.secrets.set(m.secretId, structuredClone(secret));
              cloned.add(m.secretId);
            }
            try {
              const r = m.apply(next);
              if (r.changed) changedIds.add(m.secretId);
              outcomes.push({ ok: true, value: r.result });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
          if (changedIds.size > 0) {
            const compactAt = Math.max(compactBytes, committed.snapshotSize);
            try {
              cache =
                !prepared || committed.journal!.committed - RECORDS_OFFSET >= compactAt
                  ? await compact(key, committed, next)
                  : await append(key, committed, prepared.handle, next, changedIds);
            } catch (err) {
              cache = undefined;
              throw err;
            }
          }
        } finally {
          await prepared?.handle.close();
        }
      } finally {
        await lock.release();
      }
    } catch (err) {
      // The directory may have been removed behind our back: make it again next time.
      dirReady = false;
      for (const m of batch) m.reject(err);
      return;
    }
    batch.forEach((m, i) => {
      const o = outcomes[i]!;
      if (o.ok) m.resolve(o.value);
      else m.reject(o.error);
    });
  }

  /**
   * Wall time of the last compaction's serialise + encrypt (the part that grows with the store: tens
   * of milliseconds at 10,000 secrets, while an append encodes one commit's secrets). The next
   * commit waits as long as it took (at most 25 ms): its batch gathers what arrives meanwhile, so a
   * store that compacts often cannot take most of a core.
   */
  let lastEncodeMs = 0;

  async function flush(): Promise<void> {
    if (lastEncodeMs >= 1) await new Promise((r) => setTimeout(r, Math.min(lastEncodeMs, 25)));
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await commit(batch);
    }
    flushing = undefined;
  }

  function mutate<T>(
    secretId: string,
    apply: (state: StoreState) => { result: T; changed: boolean },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      pending.push({ secretId, apply, resolve: resolve as (v: unknown) => void, reject });
      flushing ??= flush();
    });
  }

  return {
    type: 'file',
    path,
    keyPath,
    lockPath,
    journalPath,

    async stagePending(secretId, token, text, opts) {
      assertSecretId(secretId);
      assertToken(secretId, token);
      assertSecretText(secretId, text, token);
      return mutate(secretId, (state) => {
        const r = stagePendingIn(state, {
          secretId,
          token,
          text,
          now: now(),
          description: opts?.description,
          maxVersions,
          expectPending: opts?.expectPending,
        });
        return { result: r, changed: r.created };
      });
    },

    async getVersion(secretId, versionId) {
      assertSecretId(secretId);
      const state = await readState();
      return toVersion(findVersion(state.secrets.get(secretId), versionId));
    },

    async getCurrent(secretId) {
      assertSecretId(secretId);
      return toVersion(findByStage((await readState()).secrets.get(secretId), 'AWSCURRENT'));
    },

    async getPrevious(secretId) {
      assertSecretId(secretId);
      return toVersion(findByStage((await readState()).secrets.get(secretId), 'AWSPREVIOUS'));
    },

    async getPending(secretId) {
      assertSecretId(secretId);
      return toVersion(findByStage((await readState()).secrets.get(secretId), 'AWSPENDING'));
    },

    async promote(secretId, versionId, opts) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      await mutate(secretId, (state) => ({
        result: undefined,
        changed: promoteIn(state, secretId, versionId, opts?.expectCurrent).changed,
      }));
    },

    async dropPending(secretId, versionId) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      await mutate(secretId, (state) => ({
        result: undefined,
        changed: dropPendingIn(state, secretId, versionId).changed,
      }));
    },

    async describe(secretId) {
      assertSecretId(secretId);
      const secret = (await readState()).secrets.get(secretId);
      return secret ? describeSecret(secret) : undefined;
    },

    async ping(secretId) {
      assertSecretId(secretId);
      await fs.access(dirname(path)).catch((err: NodeJS.ErrnoException) => {
        throw new SecretStoreError(
          'unavailable',
          `directory of file store ${path} is not accessible (${err.code})`,
        );
      });
      await readState();
    },

    async close() {
      await flushing;
    },
  } satisfies FileStore;
}
