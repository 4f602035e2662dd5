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
import { createKeyFile, keyFromRef, readKeyFile } from './key.js';
import {
  DEFAULT_MAX_VERSIONS,
  describeSecret,
  dropPendingIn,
  emptyState,
  findByStage,
  findVersion,
  parseState,
  promoteIn,
  serializeStateChunks,
  stagePendingIn,
  type StoredSecret,
  type StoreState,
  toVersion,
} from './state.js';

export interface FileStoreOptions {
  /** The store file. Its key file (when `key` is not given) is `<path>.key`, its lock `<path>.lock`. */
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
}

export interface FileStore extends SecretStore {
  readonly type: 'file';
  readonly path: string;
  readonly keyPath: string;
  readonly lockPath: string;
}

/** The embedded store: one AES-256-GCM encrypted file, the AWS Secrets Manager version model. */
export function createFileStore(options: FileStoreOptions): FileStore {
  const path = options.path;
  const keyPath = `${path}.key`;
  const lockPath = lockPathFor(path);
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

  function decode(key: Buffer, bytes: Buffer): StoreState {
    let plain: Buffer;
    try {
      plain = open(key, bytes);
    } catch (err) {
      if (err instanceof EnvelopeError) throw corrupt(err.message);
      throw err;
    }
    try {
      return parseState(plain.toString('utf8'));
    } catch (err) {
      // A JSON SyntaxError quotes the text, which holds passwords: never pass it on.
      throw corrupt(err instanceof SyntaxError ? 'content is not JSON' : (err as Error).message);
    }
  }

  /**
   * The last state this process read or wrote, with the identity of the file it came from. Every
   * write replaces the file by rename (a new inode), so an unchanged stat means unchanged content:
   * a read then costs one stat instead of read + decrypt + parse of the whole store.
   */
  let cache: { stamp: string; state: StoreState } | undefined;
  /** The state being written by this process, under the lock (readers may see the file renamed early). */
  let writing: StoreState | undefined;

  const stampOf = (st: BigIntStats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

  /**
   * Synchronous on purpose: a stat of a local file takes microseconds, while the promise version
   * (thread pool, BigIntStats, promise) cost more CPU than anything else in a cached read.
   */
  async function currentStamp(): Promise<string | undefined> {
    try {
      const st = statSync(path, { bigint: true, throwIfNoEntry: false });
      return st ? stampOf(st) : undefined;
    } catch (err) {
      throw new SecretStoreError(
        'unavailable',
        `cannot read file store ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }

  /** The file's bytes and the identity of exactly those bytes (fstat of the handle that read them). */
  async function readWithStamp(): Promise<{ bytes: Buffer; stamp: string } | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new SecretStoreError('unavailable', `cannot read file store ${path} (${code ?? 'error'})`);
    }
    try {
      const stamp = stampOf(await handle.stat({ bigint: true }));
      return { bytes: await handle.readFile(), stamp };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SecretStoreError('unavailable', `cannot read file store ${path} (${code ?? 'error'})`);
    } finally {
      await handle.close();
    }
  }

  /** The committed state; `key` is given under the write lock (it may have just been created). */
  async function loadState(key?: Buffer): Promise<StoreState> {
    const stamp = await currentStamp();
    if (stamp === undefined) return emptyState();
    if (cache?.stamp === stamp) return cache.state;
    if (writing) {
      // We hold the lock and are replacing the file: a new identity can only be our write.
      cache = { stamp, state: writing };
      return writing;
    }
    const read = await readWithStamp();
    if (!read) return emptyState();
    const state = decode(key ?? (await existingKey()), read.bytes);
    cache = { stamp: read.stamp, state };
    return state;
  }

  const readState = () => loadState();

  interface Mutation {
    secretId: string;
    apply: (state: StoreState) => { result: unknown; changed: boolean };
    resolve: (value: unknown) => void;
    reject: (err: unknown) => void;
  }

  /** Serialized secrets: a commit re-serializes only the secrets it cloned and changed. */
  const fragments = new WeakMap<StoredSecret, string>();
  let pending: Mutation[] = [];
  let flushing: Promise<void> | undefined;

  /**
   * Group commit: the mutations queued while a write is in progress go into the next one, under
   * one lock, one read and one write. Each is applied to a copy of the committed state in which
   * the secrets it touches are cloned, so readers see only what is on disk, and a mutation that
   * fails (conflict, not found: they check before they change anything) fails alone.
   */
  let dirReady = false;
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
        await sweepAtMostEveryMinute(`${path} temps`, () => removeStaleTemps(path, tempPrefix(path)));
        const exists = (await currentStamp()) !== undefined;
        let key = cachedKey ?? (await readKeyFile(keyPath));
        if (!key) {
          if (exists) throw missingKey();
          key = await createKeyFile(keyPath);
        }
        cachedKey = key;
        const committed = await loadState(key);
        const next: StoreState = { secrets: new Map(committed.secrets) };
        const cloned = new Set<string>();
        let changed = false;
        for (const m of batch) {
          if (!cloned.has(m.secretId)) {
            const secret = next.secrets.get(m.secretId);
            if (secret) next.secrets.set(m.secretId, structuredClone(secret));
            cloned.add(m.secretId);
          }
          try {
            const r = m.apply(next);
            changed ||= r.changed;
            outcomes.push({ ok: true, value: r.result });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        if (changed) {
          const encodeStart = performance.now();
          const sealed = sealChunks(key, serializeStateChunks(next, fragments));
          lastEncodeMs = performance.now() - encodeStart;
          writing = next;
          try {
            await writeFileAtomic(path, sealed);
            // Still `writing` until the cache holds the new identity: a reader in between must
            // not take the new file for someone else's and read it back.
            const stamp = await currentStamp();
            cache = stamp === undefined ? undefined : { stamp, state: next };
          } catch (err) {
            cache = undefined;
            throw err;
          } finally {
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
   * Wall time of the last commit's serialise + encrypt (the part that grows with the store). Every
   * commit rewrites the whole file, so with mutations arriving one by one (rotations waiting on a
   * cloud between their writes) a large store spent most of a core re-encrypting itself. The next
   * commit waits as long as the last one encoded (at most 25 ms): its batch gathers what arrives
   * meanwhile, and the store's share of the CPU stays under about half. A small store encodes in
   * well under a millisecond and does not wait.
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
