import { promises as fs } from 'node:fs';
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
import { removeStaleTemps, tempPrefix } from './atomic-write.js';
import { applyBatch, createCommitQueue, type Mutation, type Outcome } from './commit-queue.js';
import { missingKey, type StoreFiles } from './errors.js';
import { stampOf, statNow } from './io.js';
import { RECORDS_OFFSET } from './journal.js';
import { createKeyFile, keyFromRef, readKeyFile } from './key.js';
import { emptyLoaded, type Loaded, readFull, readGrown } from './reader.js';
import {
  DEFAULT_MAX_VERSIONS,
  describeSecret,
  dropPendingIn,
  findByStage,
  findVersion,
  promoteIn,
  stagePendingIn,
  toVersion,
} from './state.js';
import { createJournalWriter, type JournalIo } from './writer.js';

export type { JournalIo } from './writer.js';

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
 * Reading is reader.ts, writing writer.ts, the group commit commit-queue.ts, the state changes
 * (pure) state.ts; this file keeps the cache, the lock and the SecretStore calls.
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  const path = options.path;
  const keyPath = `${path}.key`;
  const lockPath = lockPathFor(path);
  const journalPath = `${path}.journal`;
  const files: StoreFiles = { path, keyPath, journalPath };
  const compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
  const io: JournalIo = {
    datasync: options.journalIo?.datasync ?? ((h) => h.datasync()),
    truncate: options.journalIo?.truncate ?? ((h, length) => h.truncate(length)),
  };
  const writer = createJournalWriter(files, io);
  const now = options.now ?? Date.now;
  const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
  const configuredKey = options.keyBytes ?? (options.key ? keyFromRef(options.key, options.env) : undefined);
  let cachedKey = configuredKey;

  async function existingKey(): Promise<Buffer> {
    if (cachedKey) return cachedKey;
    const key = await readKeyFile(keyPath);
    if (!key) throw missingKey(files);
    cachedKey = key;
    return key;
  }

  /**
   * The last state this process read or wrote, with the identity of both files it came from. The
   * snapshot is only ever replaced by rename (a new inode), the journal appended to (or replaced
   * by rename): a settled read with unchanged stats costs two stats instead of read + decrypt +
   * parse. A journal that grew is read from where the cached state stopped.
   */
  let cache: Loaded | undefined;

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
        const grown = await readGrown(files, k, base, base.journal);
        if (grown) {
          cache = grown;
          return grown;
        }
      }
      const full = await readFull(files, k);
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
   * A reader that found records past the committed end (a commit in progress, or one a dead
   * writer left, say after a power cut lost its commit mark) recovers them once under the lock, so
   * a restarted reader sees every commit that was acknowledged. Commits in progress wait for it.
   */
  let recoveryTried = false;
  async function recoverOnce(): Promise<void> {
    recoveryTried = true;
    // A poisoned store would recover its own failed commit: that is for a new store object.
    if (writer.poisoned()) return;
    let lock;
    try {
      lock = await acquireFileLock(path, { timeoutMs: Math.min(options.lockTimeoutMs ?? 2_000, 2_000) });
    } catch {
      return; // Held by a live writer: it finishes (or recovers) the commit itself.
    }
    try {
      const key = await existingKey();
      const prepared = await writer.prepareJournal(key, await loadState(key));
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
    let outcomes: Outcome[] = [];
    try {
      const poisoned = writer.poisoned();
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
          if (exists) throw missingKey(files);
          key = await createKeyFile(keyPath);
        }
        cachedKey = key;
        const loaded = await loadState(key);
        const prepared = await writer.prepareJournal(key, loaded);
        try {
          const committed = prepared?.loaded ?? loaded;
          if (prepared) cache = prepared.loaded;
          const applied = applyBatch(committed.state, batch);
          outcomes = applied.outcomes;
          const { next, changedIds } = applied;
          if (changedIds.size > 0) {
            const compactAt = Math.max(compactBytes, committed.snapshotSize);
            try {
              cache =
                !prepared || committed.journal!.committed - RECORDS_OFFSET >= compactAt
                  ? await writer.compact(key, committed, next)
                  : await writer.append(key, committed, prepared.handle, next, changedIds);
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
   * The next commit waits as long as the last compaction's encode took (at most 25 ms): its batch
   * gathers what arrives meanwhile, so a store that compacts often cannot take most of a core.
   */
  const queue = createCommitQueue(commit, () => writer.lastEncodeMs());
  const mutate = queue.mutate;

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
      await queue.idle();
    },
  } satisfies FileStore;
}
