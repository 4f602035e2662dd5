import { promises as fs } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { SecretRef } from '../../config/schema.js';
import { SecretStoreError, type SecretStore } from '../types.js';
import { assertSecretId, assertSecretValue, assertToken } from '../value.js';
import { removeStaleTemps, tempPrefix, writeFileAtomic } from './atomic-write.js';
import { EnvelopeError, open, seal } from './envelope.js';
import { createKeyFile, keyFromRef, readKeyFile } from './key.js';
import { acquireLock, isProcessAlive } from './lock.js';
import {
  DEFAULT_MAX_VERSIONS,
  describeSecret,
  dropPendingIn,
  emptyState,
  findByStage,
  findVersion,
  parseState,
  promoteIn,
  serializeState,
  stagePendingIn,
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
  const lockPath = `${path}.lock`;
  const now = options.now ?? Date.now;
  const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
  const configuredKey = options.keyBytes ?? (options.key ? keyFromRef(options.key, options.env) : undefined);
  let cachedKey = configuredKey;
  let queue: Promise<unknown> = Promise.resolve();

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

  async function readFileBytes(): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new SecretStoreError('unavailable', `cannot read file store ${path} (${code ?? 'error'})`);
    }
  }

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

  async function readState(): Promise<StoreState> {
    const bytes = await readFileBytes();
    if (!bytes) return emptyState();
    return decode(await existingKey(), bytes);
  }

  async function mutate<T>(fn: (state: StoreState) => { result: T; changed: boolean }): Promise<T> {
    const run = async (): Promise<T> => {
      await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
      const lock = await acquireLock(lockPath, { timeoutMs: options.lockTimeoutMs });
      try {
        await removeStaleTemps(path, tempPrefix(path), isProcessAlive);
        await removeStaleTemps(lockPath, `${basename(lockPath)}.`, isProcessAlive);
        const bytes = await readFileBytes();
        let key = cachedKey ?? (await readKeyFile(keyPath));
        if (!key) {
          if (bytes) throw missingKey();
          key = await createKeyFile(keyPath);
        }
        cachedKey = key;
        const state = bytes ? decode(key, bytes) : emptyState();
        const { result, changed } = fn(state);
        if (changed) await writeFileAtomic(path, seal(key, Buffer.from(serializeState(state), 'utf8')));
        return result;
      } finally {
        await lock.release();
      }
    };
    // Calls from one process queue up here instead of polling each other's lock.
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    type: 'file',
    path,
    keyPath,
    lockPath,

    async stagePending(secretId, token, value, opts) {
      assertSecretId(secretId);
      assertToken(secretId, token);
      assertSecretValue(secretId, value, token);
      return mutate((state) => {
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
      await mutate((state) => ({
        result: undefined,
        changed: promoteIn(state, secretId, versionId).changed,
      }));
    },

    async dropPending(secretId, versionId) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      await mutate((state) => ({
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
      await queue;
    },
  } satisfies FileStore;
}
