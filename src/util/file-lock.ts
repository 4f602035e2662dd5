import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { link, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The one cross-process lock (the file store and the audit trail): the file `<path>.lock` exists
 * while a process holds it and names that process. The content is written to a private file
 * first and linked into place, so a lock file is never seen half-written.
 *
 * A lock is stale when its owner ran on this host and no longer runs: its pid is dead, or its pid
 * is ours but its process id is not. The second case matters in containers, where the worker is
 * PID 1 after every restart: a lock left by a killed PID 1 names a live pid, ours. A stale lock is
 * removed under a short-lived `<lock>.break` lock, so two waiters cannot both remove it and so
 * delete a lock a third one just took.
 *
 * A pid means nothing outside its host and pid namespace (a container restarted with a new one, a
 * second container on the same volume). So the holder also beats: it touches the lock file every
 * fifth of `staleAfterMs` while it holds it, and a lock whose file has not been touched for
 * `staleAfterMs` is stale whoever wrote it. A lock is held for milliseconds (one commit), so a
 * silent one is a dead one; and no waiter waits beyond its own timeout either way.
 */

export interface LockOwner {
  pid: number;
  host: string;
  /** Random id of the process that took it (see PROCESS_ID). */
  process: string;
  /** Random id of this one acquisition. */
  nonce: string;
  /** ISO time the lock was taken. */
  at: string;
}

export interface FileLockOptions {
  /** How long to wait for the lock before failing (default 10 s). */
  timeoutMs?: number | undefined;
  /** Longest pause between two attempts (default 50 ms; the first pauses are shorter). */
  maxRetryMs?: number | undefined;
  /**
   * A lock file whose content cannot be parsed is not ours (we never write a partial one): a
   * file system that lost the content in a power cut, or a hand edit. It counts as stale once it
   * is this old (default 5 s).
   */
  unreadableStaleMs?: number | undefined;
  /** A lock not touched by its holder's heartbeat for this long is stale, from any host (default 10 s). */
  staleAfterMs?: number | undefined;
}

export interface HeldLock {
  readonly lockPath: string;
  readonly owner: LockOwner;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_LOCK_STALE_MS = 10_000;

/** Tells this process from an earlier one with the same pid (a restarted container's PID 1). */
export const PROCESS_ID = randomBytes(8).toString('hex');

/**
 * The host as a lock names it: the host name and, on Linux, the pid namespace. Two containers can
 * share a host name and a volume while their pids mean different processes; a pid from another
 * namespace cannot be checked here, so such a lock is only waited for, never judged stale.
 */
export const HOST_ID = ((): string => {
  try {
    return `${hostname()}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return hostname();
  }
})();

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
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Waits (bounded) for the lock on `path` (the file `<path>.lock`). */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const maxRetryMs = options.maxRetryMs ?? 50;
  const unreadableStaleMs = options.unreadableStaleMs ?? 5_000;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_LOCK_STALE_MS;
  const lockPath = lockPathFor(path);
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  let lastOwner: LockOwner | undefined;
  for (;;) {
    const owner = newOwner();
    const text = JSON.stringify(owner);
    if (await createExclusive(lockPath, text)) {
      // The heartbeat: the lock file's mtime says the holder is alive (see above).
      const heartbeat = setInterval(
        () => {
          const now = new Date();
          void utimes(lockPath, now, now).catch(() => undefined);
        },
        Math.max(50, Math.floor(staleAfterMs / 5)),
      );
      heartbeat.unref();
      try {
        await sweepAtMostEveryMinute(lockPath, () => removeStaleTemps(lockPath));
      } catch (err) {
        clearInterval(heartbeat);
        await unlink(lockPath).catch(() => undefined);
        throw err;
      }
      return {
        lockPath,
        owner,
        release: async () => {
          clearInterval(heartbeat);
          // Only remove the lock if it is still ours (a breaker may have judged it wrongly).
          const now = await readFile(lockPath, 'utf8').catch(() => undefined);
          if (now === text) await unlink(lockPath).catch(ignoreEnoent);
        },
      };
    }
    const current = await readState(lockPath);
    if (current.kind === 'gone') continue;
    lastOwner = current.kind === 'owner' ? current.owner : undefined;
    const stale = (st: LockState) => isStale(st, unreadableStaleMs, staleAfterMs);
    if (stale(current)) {
      await breakStaleLock(lockPath, current.raw, maxRetryMs, stale);
      continue;
    }
    if (Date.now() >= deadline) throw new FileLockTimeoutError(lockPath, timeoutMs, lastOwner);
    // Jitter keeps several waiters from retrying in lock-step.
    await delay(Math.min(pause, Math.max(1, deadline - Date.now())) * (0.5 + Math.random() / 2));
    pause = Math.min(pause * 2, maxRetryMs);
  }
}

/** Whether a process with this pid runs (EPERM: it does, as another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the owner of a lock (or of a temporary file) ran on this host and no longer runs. A
 * record without a process id names our pid only when an earlier process with our pid wrote it.
 */
export function isOwnerGone(owner: { pid: number; host: string; process?: string | undefined }): boolean {
  // A record without the namespace (earlier versions, or a system without /proc) names the bare
  // host name: judged as before.
  if (owner.host !== HOST_ID && owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return owner.process !== PROCESS_ID;
  return !isProcessAlive(owner.pid);
}

function newOwner(): LockOwner {
  return {
    pid: process.pid,
    host: HOST_ID,
    process: PROCESS_ID,
    nonce: randomBytes(8).toString('hex'),
    at: new Date().toISOString(),
  };
}

/** The private file a lock's content is written to before it is linked into place. */
function tempName(lockPath: string): string {
  return `${lockPath}.${process.pid}.${PROCESS_ID}.${randomBytes(6).toString('hex')}`;
}

/** Creates `path` with `content` atomically (link of a private file); false if it exists. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = tempName(path);
  await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** When each sweep (by key) last ran in this process. */
const lastSweep = new Map<string, number>();
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Runs `sweep` (a removal of files that dead processes left) the first time `key` is seen in this
 * process, then at most once a minute: a left file is a few bytes and harmless, and a readdir per
 * lock or per commit was a fifth of its cost. Used by the lock and by the file store's temp files.
 */
export async function sweepAtMostEveryMinute(key: string, sweep: () => Promise<void>): Promise<void> {
  const now = Date.now();
  const last = lastSweep.get(key);
  if (last !== undefined && now - last < SWEEP_INTERVAL_MS) return;
  lastSweep.set(key, now);
  await sweep();
}

/**
 * Removes private files `<lock>[.break].<pid>.<process>.<random>` left by processes that died
 * between writing and unlinking them (earlier versions wrote `<lock>.<pid>.<random>`).
 */
async function removeStaleTemps(lockPath: string): Promise<void> {
  const dir = dirname(lockPath);
  const prefix = `${basename(lockPath)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:break\.)?(\d+)\.(?:([0-9a-f]{16})\.)?[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid > 0 && isOwnerGone({ pid, host: hostname(), process: m[2] })) {
      await unlink(join(dir, name)).catch(() => undefined);
    }
  }
}

type LockState =
  | { kind: 'gone' }
  | { kind: 'owner'; owner: LockOwner; raw: string; ageMs: number }
  | { kind: 'unreadable'; raw: string; ageMs: number };

async function readState(lockPath: string): Promise<LockState> {
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
  const ageMs = Date.now() - mtimeMs;
  return owner ? { kind: 'owner', owner, raw, ageMs } : { kind: 'unreadable', raw, ageMs };
}

/** Also reads the lock files of earlier versions (no process id; `at` in epoch ms). */
function parseOwner(raw: string): LockOwner | undefined {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (typeof v.pid !== 'number' || typeof v.host !== 'string') return undefined;
    const at =
      typeof v.at === 'string' ? v.at : typeof v.at === 'number' ? new Date(v.at).toISOString() : '?';
    return {
      pid: v.pid,
      host: v.host,
      process: typeof v.process === 'string' ? v.process : '',
      nonce: typeof v.nonce === 'string' ? v.nonce : '',
      at,
    };
  } catch {
    return undefined;
  }
}

function isStale(state: LockState, unreadableStaleMs: number, staleAfterMs: number): boolean {
  if (state.kind === 'unreadable') return state.ageMs >= unreadableStaleMs;
  if (state.kind !== 'owner') return false;
  // No heartbeat for staleAfterMs: dead, wherever it ran (another host, another pid namespace).
  return isOwnerGone(state.owner) || state.ageMs >= staleAfterMs;
}

/**
 * Removes a stale lock, but only the very lock we judged stale: breakers take a short-lived
 * `<lock>.break` lock of their own, so two of them cannot delete a lock a third just took.
 */
async function breakStaleLock(
  lockPath: string,
  staleRaw: string,
  maxRetryMs: number,
  stale: (state: LockState) => boolean,
): Promise<void> {
  const breakPath = `${lockPath}.break`;
  if (!(await createExclusive(breakPath, JSON.stringify(newOwner())))) {
    // Another process is breaking it (for microseconds), or died doing so: clear that.
    const other = await readState(breakPath);
    if (
      other.kind !== 'gone' &&
      (isStale(other, 5_000, 5_000) || (other.kind === 'owner' && isOldBreak(other)))
    ) {
      const now = await readFile(breakPath, 'utf8').catch(() => undefined);
      if (now === other.raw) await unlink(breakPath).catch(ignoreEnoent);
    }
    await delay(Math.max(1, maxRetryMs / 5));
    return;
  }
  try {
    // Still the very lock judged stale, and still stale (its heartbeat did not resume meanwhile).
    const now = await readState(lockPath);
    if (now.kind !== 'gone' && now.raw === staleRaw && stale(now)) await unlink(lockPath).catch(ignoreEnoent);
  } finally {
    await unlink(breakPath).catch(ignoreEnoent);
  }
}

/** A break lock is held for microseconds: one older than 5 s belongs to a breaker that hung or died. */
function isOldBreak(state: { owner: LockOwner }): boolean {
  const at = Date.parse(state.owner.at);
  return Number.isFinite(at) && Date.now() - at > 5_000;
}

function ignoreEnoent(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
