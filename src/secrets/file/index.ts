import { type BigIntStats, promises as fs, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretRef } from '../../config/schema.js';
import { SecretStoreError, type SecretStore } from '../types.js';
import { assertSecretId, assertSecretValue, assertToken } from '../value.js';
import { FileLockTimeoutError, acquireFileLock, lockPathFor } from '../../util/file-lock.js';
import { removeStaleTemps, tempPrefix, writeFileAtomic } from './atomic-write.js';
import { EnvelopeError, open, sealChunks } from './envelope.js';
import {
  JOURNAL_HEADER_LENGTH,
  JournalError,
  journalHeader,
  newGeneration,
  openJournalHeader,
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
  stagePendingIn,
  type StoredSecret,
  type StoreState,
  toVersion,
} from './state.js';

export interface FileStoreOptions {
  /**
   * The store's snapshot. Its journal is `<path>.journal`, its key file (when `key` is not given)
   * `<path>.key`, its lock `<path>.lock`.
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
   * A commit writes a new snapshot instead of appending to the journal once the journal is larger
   * than both this (default 1 MiB) and the snapshot. Small values are for tests.
   */
  compactBytes?: number | undefined;
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
 * The embedded store: an AES-256-GCM encrypted snapshot plus an encrypted journal of the commits
 * since (journal.ts), the AWS Secrets Manager version model.
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  const path = options.path;
  const keyPath = `${path}.key`;
  const lockPath = lockPathFor(path);
  const journalPath = `${path}.journal`;
  const compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
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

  function decode(key: Buffer, bytes: Buffer): { state: StoreState; generation: string | undefined } {
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

  /** Applies journal records (plaintexts, in order) to `state`. */
  function replay(state: StoreState, records: Buffer[], firstSeq: number): void {
    records.forEach((plain, i) => {
      try {
        const data = JSON.parse(plain.toString('utf8')) as { put?: unknown };
        if (data === null || typeof data !== 'object' || !Array.isArray(data.put)) {
          throw new Error('malformed journal record');
        }
        for (const entry of data.put) {
          const [id, secret] = parseSecretEntry(entry);
          state.secrets.set(id, secret);
        }
      } catch (err) {
        const reason = err instanceof SyntaxError ? 'is not JSON' : (err as Error).message;
        throw corrupt(`journal ${journalPath} record ${firstSeq + i}: ${reason}`);
      }
    });
  }

  const journalCorrupt = (err: unknown): never => {
    if (err instanceof JournalError) throw corrupt(`journal ${journalPath}: ${err.message}`);
    throw err;
  };

  /** The journal that continues the loaded snapshot, as far as it was read. */
  interface JournalInfo {
    dev: bigint;
    ino: bigint;
    /** Its header bytes (generation and a random IV: they tell this journal from any other). */
    header: Buffer;
    generation: Buffer;
    /** End of the last valid record. */
    validEnd: number;
    /** Number of the next record. */
    nextSeq: number;
    /** The file's size when read: more than validEnd when its tail is torn. */
    size: number;
  }

  interface Loaded {
    state: StoreState;
    /** Identity of both files: `<snapshot>|<journal>`. */
    stamp: string;
    snapStamp: string | undefined;
    snapshotSize: number;
    /** The snapshot's generation (undefined: a version 1 file, or none). */
    generation: string | undefined;
    /** The journal that continues the snapshot (undefined: none, or one left from another snapshot). */
    journal: JournalInfo | undefined;
  }

  const emptyLoaded = (): Loaded => ({
    state: emptyState(),
    stamp: '-',
    snapStamp: undefined,
    snapshotSize: 0,
    generation: undefined,
    journal: undefined,
  });

  /**
   * The last state this process read or wrote, with the identity of both files it came from. The
   * snapshot is only ever replaced by rename (a new inode) and the journal only appended to (or
   * replaced by rename), so unchanged stats mean unchanged content: a read then costs two stats
   * instead of read + decrypt + parse of the whole store. A journal that grew is read from where
   * the cached state stopped.
   */
  let cache: Loaded | undefined;
  /** The state being written by this process, under the lock (readers may see the files change early). */
  let writing: Loaded | undefined;

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
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unavailable(file, err);
    }
  }

  async function openForRead(file: string): Promise<fs.FileHandle | undefined> {
    try {
      return await fs.open(file, 'r');
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

  /**
   * Snapshot, then journal, each with the identity of exactly the bytes read (fstat of the handle
   * that read them). A journal that does not continue this snapshot is ignored only if the snapshot
   * is still the one read: otherwise a compaction ran in between (new snapshot, new journal) and
   * the read starts over, or it would miss the commits of the journal it replaced.
   */
  async function readFull(key: Buffer): Promise<Loaded | 'retry'> {
    const snapHandle = await openForRead(path);
    if (!snapHandle) return emptyLoaded();
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
    const { state, generation } = decode(key, bytes);
    const loaded = (journal: JournalInfo | undefined, journalStamp: string): Loaded => ({
      state,
      stamp: `${snapStamp}|${journalStamp}`,
      snapStamp,
      snapshotSize: bytes.length,
      generation,
      journal,
    });
    const snapshotUnchanged = () => {
      const now = statNow(path);
      return now !== undefined && stampOf(now) === snapStamp;
    };
    const jHandle = await openForRead(journalPath);
    if (!jHandle) {
      if (generation !== undefined && !snapshotUnchanged()) return 'retry';
      return loaded(undefined, '-');
    }
    try {
      let jStat: BigIntStats;
      let jBytes: Buffer;
      try {
        jStat = await jHandle.stat({ bigint: true });
        jBytes = await jHandle.readFile();
      } catch (err) {
        throw unavailable(journalPath, err);
      }
      const jStamp = stampOf(jStat);
      if (generation === undefined) return loaded(undefined, jStamp);
      let jGeneration: Buffer;
      try {
        jGeneration = openJournalHeader(key, jBytes);
      } catch (err) {
        if (!snapshotUnchanged()) return 'retry';
        return journalCorrupt(err);
      }
      if (jGeneration.toString('hex') !== generation) {
        // Left over from a compaction cut short (its commits are in the snapshot), or newer than
        // the snapshot we read: tell them apart by whether the snapshot is still the same.
        return snapshotUnchanged() ? loaded(undefined, jStamp) : 'retry';
      }
      let read;
      try {
        read = readRecords(
          key,
          jGeneration,
          jBytes.subarray(JOURNAL_HEADER_LENGTH),
          JOURNAL_HEADER_LENGTH,
          0,
        );
      } catch (err) {
        return journalCorrupt(err);
      }
      replay(state, read.records, 0);
      return loaded(
        {
          dev: jStat.dev,
          ino: jStat.ino,
          header: Buffer.from(jBytes.subarray(0, JOURNAL_HEADER_LENGTH)),
          generation: jGeneration,
          validEnd: read.validEnd,
          nextSeq: read.nextSeq,
          size: jBytes.length,
        },
        jStamp,
      );
    } finally {
      await jHandle.close();
    }
  }

  /**
   * The journal of the cached state grew (appends by another process): reads only the new records.
   * Undefined when it is not the same journal any more (then everything is read again).
   */
  async function readTail(key: Buffer, base: Loaded, journal: JournalInfo): Promise<Loaded | undefined> {
    const handle = await openForRead(journalPath);
    if (!handle) return undefined;
    try {
      let st: BigIntStats;
      let header: Buffer;
      let tail: Buffer;
      try {
        st = await handle.stat({ bigint: true });
        if (st.dev !== journal.dev || st.ino !== journal.ino || st.size < BigInt(journal.validEnd)) {
          return undefined;
        }
        header = await readRange(handle, 0, JOURNAL_HEADER_LENGTH);
        if (!header.equals(journal.header)) return undefined;
        tail = await readRange(handle, journal.validEnd, Number(st.size));
      } catch (err) {
        throw unavailable(journalPath, err);
      }
      let read;
      try {
        read = readRecords(key, journal.generation, tail, journal.validEnd, journal.nextSeq);
      } catch (err) {
        return journalCorrupt(err);
      }
      const state: StoreState = { secrets: new Map(base.state.secrets) };
      replay(state, read.records, journal.nextSeq);
      return {
        ...base,
        state,
        stamp: `${base.snapStamp}|${stampOf(st)}`,
        journal: {
          ...journal,
          validEnd: read.validEnd,
          nextSeq: read.nextSeq,
          size: journal.validEnd + tail.length,
        },
      };
    } finally {
      await handle.close();
    }
  }

  /** The committed state; `key` is given under the write lock (it may have just been created). */
  async function loadState(key?: Buffer): Promise<Loaded> {
    for (let attempt = 0; ; attempt++) {
      const snap = statNow(path);
      if (snap === undefined) return emptyLoaded();
      const snapStamp = stampOf(snap);
      const jst = statNow(journalPath);
      const stamp = `${snapStamp}|${jst ? stampOf(jst) : '-'}`;
      if (cache?.stamp === stamp) return cache;
      // We hold the lock and are changing the files: a new identity can only be our write.
      if (writing) return writing;
      const k = key ?? (await existingKey());
      const base = cache;
      if (base?.journal && base.snapStamp === snapStamp && jst?.ino === base.journal.ino) {
        const grown = await readTail(k, base, base.journal);
        if (grown) {
          cache = grown;
          return grown;
        }
      }
      const full = await readFull(k);
      if (full !== 'retry') {
        if (full.snapStamp !== undefined) cache = full;
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

  const readState = async () => (await loadState()).state;

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
   * Writes `next` as a new snapshot with a new generation, then an empty journal for it (both
   * replaced atomically). A crash in between leaves the old journal, whose generation is not the
   * snapshot's: it is ignored, and its commits are in the new snapshot.
   */
  async function compact(key: Buffer, next: StoreState): Promise<Loaded> {
    const generation = newGeneration();
    const genHex = generation.toString('hex');
    const encodeStart = performance.now();
    const sealed = sealChunks(key, serializeStateChunks(next, fragments, undefined, genHex));
    lastEncodeMs = performance.now() - encodeStart;
    await writeFileAtomic(path, sealed);
    const snapshotSize = sealed.reduce((n, b) => n + b.length, 0);
    const snap = statNow(path);
    const snapStamp = snap === undefined ? undefined : stampOf(snap);
    const header = journalHeader(key, generation);
    try {
      await writeFileAtomic(journalPath, header);
    } catch {
      // The commit is in the snapshot: the old journal is ignored, the next commit compacts again.
      return { state: next, stamp: '?', snapStamp, snapshotSize, generation: genHex, journal: undefined };
    }
    const jst = statNow(journalPath);
    if (snapStamp === undefined || jst === undefined) {
      return { state: next, stamp: '?', snapStamp, snapshotSize, generation: genHex, journal: undefined };
    }
    return {
      state: next,
      stamp: `${snapStamp}|${stampOf(jst)}`,
      snapStamp,
      snapshotSize,
      generation: genHex,
      journal: {
        dev: jst.dev,
        ino: jst.ino,
        header,
        generation,
        validEnd: header.length,
        nextSeq: 0,
        size: header.length,
      },
    };
  }

  /**
   * Appends one record holding the secrets in `changedIds` (as they are in `next`) and syncs it.
   * A torn tail (an append that a crash cut short) is cut off first.
   */
  async function append(
    key: Buffer,
    base: Loaded,
    journal: JournalInfo,
    next: StoreState,
    changedIds: Set<string>,
  ): Promise<Loaded> {
    const encodeStart = performance.now();
    const parts: string[] = [];
    for (const id of changedIds) {
      const secret = next.secrets.get(id);
      if (secret) parts.push(secretFragment(id, secret, fragments));
    }
    const plain = Buffer.from(`{"put":[${parts.join(',')}]}`, 'utf8');
    const record = sealRecord(key, journal.generation, journal.nextSeq, journal.validEnd, plain);
    lastEncodeMs = performance.now() - encodeStart;
    const handle = await fs.open(journalPath, 'r+');
    try {
      const st = await handle.stat({ bigint: true });
      if (st.dev !== journal.dev || st.ino !== journal.ino) {
        throw new SecretStoreError(
          'unavailable',
          `journal ${journalPath} was replaced while this process held the lock; try again`,
        );
      }
      if (st.size !== BigInt(journal.validEnd)) await handle.truncate(journal.validEnd);
      let written = 0;
      while (written < record.length) {
        const { bytesWritten } = await handle.write(
          record,
          written,
          record.length - written,
          journal.validEnd + written,
        );
        if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
        written += bytesWritten;
      }
      await handle.datasync();
      const after = await handle.stat({ bigint: true });
      const validEnd = journal.validEnd + record.length;
      return {
        ...base,
        state: next,
        stamp: `${base.snapStamp}|${stampOf(after)}`,
        journal: { ...journal, validEnd, nextSeq: journal.nextSeq + 1, size: validEnd },
      };
    } finally {
      await handle.close();
    }
  }

  /**
   * Group commit: the mutations queued while a write is in progress go into the next one, under
   * one lock, one read and one write. Each is applied to a copy of the committed state in which
   * the secrets it touches are cloned, so readers see only what is on disk, and a mutation that
   * fails (conflict, not found: they check before they change anything) fails alone. The write is
   * one journal record of the secrets that changed, or, when the journal has outgrown its
   * snapshot (or there is none yet, or it is a version 1 file), a new snapshot.
   */
  let dirReady = false;
  let lastSweep = -Infinity;
  async function commit(batch: Mutation[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
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
        if (Date.now() - lastSweep >= 60_000) {
          await removeStaleTemps(path, tempPrefix(path));
          await removeStaleTemps(journalPath, tempPrefix(journalPath));
          lastSweep = Date.now();
        }
        const exists = statNow(path) !== undefined;
        let key = cachedKey ?? (await readKeyFile(keyPath));
        if (!key) {
          if (exists) throw missingKey();
          key = await createKeyFile(keyPath);
        }
        cachedKey = key;
        const committed = await loadState(key);
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
          const journal = committed.journal;
          const compactAt = Math.max(compactBytes, committed.snapshotSize);
          writing = { ...committed, state: next };
          try {
            cache =
              committed.generation === undefined || !journal || journal.validEnd >= compactAt
                ? await compact(key, next)
                : await append(key, committed, journal, next, changedIds);
          } catch (err) {
            cache = undefined;
            throw err;
          } finally {
            // Still `writing` until the cache holds the new identity: a reader in between must
            // not take the new files for someone else's and read them back.
            writing = undefined;
          }
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
   * Wall time of the last commit's serialise + encrypt. An append encodes only the secrets it
   * changed (well under a millisecond); a compaction encodes the whole store (tens of
   * milliseconds at 10,000 secrets). After such a commit the next one waits as long as it encoded
   * (at most 25 ms): its batch gathers what arrives meanwhile, so a store that compacts often
   * cannot take most of a core.
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

    async stagePending(secretId, token, value, opts) {
      assertSecretId(secretId);
      assertToken(secretId, token);
      assertSecretValue(secretId, value, token);
      return mutate(secretId, (state) => {
        const r = stagePendingIn(state, {
          secretId,
          token,
          value,
          now: now(),
          description: opts?.description,
          maxVersions,
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

    async promote(secretId, versionId) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      await mutate(secretId, (state) => ({
        result: undefined,
        changed: promoteIn(state, secretId, versionId).changed,
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

    async ping() {
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
