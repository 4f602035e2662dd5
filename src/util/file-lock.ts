import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A cross-process lock on a file: `<path>.lock`, created with O_EXCL and holding the owner's
 * pid, host and start time. A lock whose pid is dead on this host is stale and gets broken;
 * a lock held by another host is only waited for (we cannot see its processes).
 */

export interface FileLockOptions {
  /** How long to wait for the lock before failing (default 10s). */
  timeoutMs?: number;
  /** Longest pause between two attempts (default 50ms; the first pauses are shorter). */
  maxRetryMs?: number;
  /**
   * A lock file that cannot be parsed (its writer died between create and write) counts as
   * stale once it is this old (default 5s).
   */
  unreadableStaleMs?: number;
}

export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  at: string;
}

export class FileLockTimeoutError extends Error {
  override name = 'FileLockTimeoutError';
  constructor(
    readonly lockPath: string,
    readonly timeoutMs: number,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      `timed out after ${timeoutMs}ms waiting for lock ${lockPath}` +
        (owner ? ` (held by pid ${owner.pid} on ${owner.host} since ${owner.at})` : ''),
    );
  }
}

export function lockPathFor(path: string): string {
  return `${path}.lock`;
}

/** Runs `fn` while holding the lock on `path`; the lock is released however `fn` ends. */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T> | T,
  options: FileLockOptions = {},
): Promise<T> {
  const release = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Takes the lock on `path`; resolves to a function that releases it. */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetryMs = options.maxRetryMs ?? 50;
  const unreadableStaleMs = options.unreadableStaleMs ?? 5_000;
  const lockPath = lockPathFor(path);
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  let lastOwner: LockOwner | undefined;
  for (;;) {
    const me: LockOwner = { pid: process.pid, host: hostname(), at: new Date().toISOString() };
    const text = JSON.stringify(me);
    if (await tryCreate(lockPath, text)) {
      return async () => {
        // Only remove the lock if it is still ours (a stale-breaker may have judged it wrongly).
        const now = await readFile(lockPath, 'utf8').catch(() => undefined);
        if (now === text) await unlink(lockPath).catch(ignoreEnoent);
      };
    }
    const current = await readOwner(lockPath);
    if (current.kind === 'gone') continue;
    lastOwner = current.kind === 'owner' ? current.owner : undefined;
    if (isStale(current, unreadableStaleMs)) {
      await breakStaleLock(lockPath, current.raw, maxRetryMs);
      continue;
    }
    if (Date.now() >= deadline) throw new FileLockTimeoutError(lockPath, timeoutMs, lastOwner);
    // Jitter keeps several waiters from retrying in lock-step.
    await delay(Math.min(pause, Math.max(1, deadline - Date.now())) * (0.5 + Math.random() / 2));
    pause = Math.min(pause * 2, maxRetryMs);
  }
}

async function tryCreate(lockPath: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  return true;
}

type LockState =
  | { kind: 'gone' }
  | { kind: 'owner'; owner: LockOwner; raw: string }
  | { kind: 'unreadable'; raw: string; ageMs: number };

async function readOwner(lockPath: string): Promise<LockState> {
  let raw: string;
  let mtimeMs: number;
  try {
    raw = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  const owner = parseOwner(raw);
  return owner ? { kind: 'owner', owner, raw } : { kind: 'unreadable', raw, ageMs: Date.now() - mtimeMs };
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.at === 'string') {
      return { pid: v.pid, host: v.host, at: v.at };
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

function isStale(state: LockState, unreadableStaleMs: number): boolean {
  if (state.kind === 'unreadable') return state.ageMs >= unreadableStaleMs;
  if (state.kind !== 'owner') return false;
  return state.owner.host === hostname() && !isAlive(state.owner.pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes a stale lock, but only the very lock we judged stale: breakers take a short-lived
 * `<lock>.break` lock of their own, so two of them cannot delete a lock a third just took.
 */
async function breakStaleLock(lockPath: string, staleRaw: string, maxRetryMs: number): Promise<void> {
  const breakPath = `${lockPath}.break`;
  if (!(await tryCreate(breakPath, String(process.pid)))) {
    // Another process is breaking it. A breaker that died leaves its file: clear it after a while.
    const age = await stat(breakPath).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > 5_000) await unlink(breakPath).catch(ignoreEnoent);
    await delay(Math.max(1, maxRetryMs / 5));
    return;
  }
  try {
    const now = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (now === staleRaw) await unlink(lockPath).catch(ignoreEnoent);
  } finally {
    await unlink(breakPath).catch(ignoreEnoent);
  }
}

function ignoreEnoent(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
