import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { SecretStoreError } from '../types.js';

/**
 * A cross-process lock: the file `<lockPath>` exists while a process holds it and names that
 * process. The content is written to a private file first and linked into place, so the lock file
 * is never seen half-written. A lock whose process no longer runs (same host) is stale and is
 * removed under a second, short-lived "steal" lock so that two waiters cannot both remove it and
 * so delete a fresh lock.
 */
export interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  /** Epoch ms when it was taken. */
  at: number;
}

export interface LockOptions {
  /** How long to wait for the lock before failing (default 10 s). */
  timeoutMs?: number;
  /** Poll interval while waiting (default 10 ms, with jitter). */
  pollMs?: number;
}

export interface HeldLock {
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.nonce === 'string') {
      return { pid: o.pid, host: o.host, nonce: o.nonce, at: typeof o.at === 'number' ? o.at : 0 };
    }
  } catch {
    // fall through
  }
  return undefined;
}

export async function readLockOwner(
  lockPath: string,
): Promise<{ text: string; owner?: LockOwner } | undefined> {
  try {
    const text = await fs.readFile(lockPath, 'utf8');
    const owner = parseOwner(text);
    return owner ? { text, owner } : { text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates `path` with `content` atomically (link of a private file); false if it exists. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await fs.writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

function isStale(owner: LockOwner | undefined): boolean {
  return (
    owner !== undefined &&
    owner.host === hostname() &&
    owner.pid !== process.pid &&
    !isProcessAlive(owner.pid)
  );
}

/** Removes the lock if it still holds exactly `staleText`; done under the steal lock. */
async function removeStale(lockPath: string, staleText: string): Promise<void> {
  const stealPath = `${lockPath}.steal`;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
    at: Date.now(),
  };
  if (!(await createExclusive(stealPath, JSON.stringify(me)))) {
    // Someone else is removing it, or died doing so (held for microseconds only).
    const other = await readLockOwner(stealPath);
    if (other && isStale(other.owner)) await fs.unlink(stealPath).catch(() => undefined);
    return;
  }
  try {
    const now = await readLockOwner(lockPath);
    if (now?.text === staleText) await fs.unlink(lockPath).catch(() => undefined);
  } finally {
    await fs.unlink(stealPath).catch(() => undefined);
  }
}

/** Waits (bounded) for the lock at `lockPath`. */
export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const pollMs = options.pollMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
    at: Date.now(),
  };
  const text = JSON.stringify(owner);
  let last: LockOwner | undefined;
  for (;;) {
    if (await createExclusive(lockPath, text)) {
      return {
        owner,
        release: async () => {
          const held = await readLockOwner(lockPath);
          if (held?.owner?.nonce === owner.nonce) await fs.unlink(lockPath).catch(() => undefined);
        },
      };
    }
    const held = await readLockOwner(lockPath);
    last = held?.owner;
    if (held && isStale(held.owner)) {
      await removeStale(lockPath, held.text);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = last
        ? `held by pid ${last.pid} on ${last.host} since ${new Date(last.at).toISOString()}`
        : 'held by another process';
      throw new SecretStoreError(
        'unavailable',
        `timed out after ${timeoutMs} ms waiting for lock ${lockPath} (${who}); ` +
          `if no rotator process runs, remove the lock file`,
      );
    }
    await delay(pollMs / 2 + Math.random() * pollMs);
  }
}
