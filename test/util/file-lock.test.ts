import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileLockTimeoutError,
  HOST_ID,
  PROCESS_ID,
  acquireFileLock,
  lockPathFor,
  withFileLock,
} from '../../src/util/file-lock.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-lock-'));
  file = join(dir, 'data.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withFileLock', () => {
  it('lets one holder in at a time and removes the lock file afterwards', async () => {
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withFileLock(file, async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          const raw = JSON.parse(await readFile(lockPathFor(file), 'utf8')) as { pid: number; host: string };
          expect(raw).toMatchObject({ pid: process.pid, host: HOST_ID });
          await delay(2);
          order.push(i);
          inside -= 1;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await expect(stat(lockPathFor(file))).rejects.toThrow(/ENOENT/);
  });

  it('releases the lock when the function throws', async () => {
    await expect(withFileLock(file, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withFileLock(file, () => 'again', { timeoutMs: 200 })).toBe('again');
  });

  it('times out with an error naming the live holder', async () => {
    // Our parent process lives on this host: its lock is not stale.
    const at = new Date().toISOString();
    const owner = { pid: process.ppid, host: hostname(), process: 'a1b2c3d4e5f60718', nonce: 'n', at };
    await writeFile(lockPathFor(file), JSON.stringify(owner));
    const err = await withFileLock(file, () => 'never', { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileLockTimeoutError);
    expect((err as Error).message).toBe(
      `timed out after 150ms waiting for lock ${lockPathFor(file)} (held by pid ${process.ppid} on ${hostname()} since ${at})`,
    );
  });

  it('names the owner in the lock file: pid, host, a per-process id and a per-lock nonce', async () => {
    const a = await acquireFileLock(file);
    const raw = JSON.parse(await readFile(lockPathFor(file), 'utf8')) as Record<string, unknown>;
    expect(raw).toEqual({ ...a.owner });
    expect(raw).toMatchObject({ pid: process.pid, host: HOST_ID, process: PROCESS_ID });
    // Held by this very process: a second acquisition here waits, it does not break it.
    await expect(acquireFileLock(file, { timeoutMs: 100 })).rejects.toBeInstanceOf(FileLockTimeoutError);
    await a.release();
    const b = await acquireFileLock(file, { timeoutMs: 100 });
    expect(b.owner.nonce).not.toBe(a.owner.nonce);
    await b.release();
  });

  it.each([
    ['another process id', { process: 'dead0dead0dead00', nonce: 'x', at: new Date(0).toISOString() }],
    ['no process id (an earlier version, `at` in epoch ms)', { nonce: 'dead0000', at: 0 }],
    ['no process id and no nonce', { at: new Date(0).toISOString() }],
  ])(
    'breaks a lock with our pid on our host but %s: an earlier process with our pid (a container PID 1) left it',
    async (_name, rest) => {
      await writeFile(lockPathFor(file), JSON.stringify({ pid: process.pid, host: hostname(), ...rest }));
      expect(await withFileLock(file, () => 'taken', { timeoutMs: 1_000 })).toBe('taken');
      await expect(stat(lockPathFor(file))).rejects.toThrow(/ENOENT/);
    },
  );

  it('removes private files a dead process left next to the lock, and keeps live ones', async () => {
    const lock = lockPathFor(file);
    const earlierMe = `${lock}.${process.pid}.dead0dead0dead00.0a0b0c0d0e0f`;
    const legacyMe = `${lock}.${process.pid}.0a0b0c0d0e0f`;
    const breakMe = `${lock}.break.${process.pid}.dead0dead0dead00.0a0b0c0d0e0f`;
    const live = `${lock}.${process.ppid}.a1b2c3d4e5f60718.0a0b0c0d0e0f`;
    const mine = `${lock}.${process.pid}.${PROCESS_ID}.0a0b0c0d0e0f`;
    for (const f of [earlierMe, legacyMe, breakMe, live, mine]) await writeFile(f, '{}');
    await withFileLock(file, () => undefined);
    const left = (await readdir(dir)).map((n) => join(dir, n)).sort();
    expect(left).toEqual([live, mine].sort());
  });

  it('breaks the lock of a process that was killed while holding it', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../children/lock-holder.mjs'), file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('locked') ? resolve() : undefined));
      child.on('exit', () => reject(new Error('holder exited early')));
    });
    const holder = JSON.parse(await readFile(lockPathFor(file), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(child.pid);
    // While it lives, the lock holds.
    await expect(withFileLock(file, () => 'x', { timeoutMs: 100 })).rejects.toBeInstanceOf(
      FileLockTimeoutError,
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await withFileLock(file, () => 'taken', { timeoutMs: 2_000 })).toBe('taken');
  });

  // Linux only: elsewhere there is no /proc/self/ns to tell pid namespaces by.
  it.skipIf(!existsSync('/proc/self/ns/pid'))(
    'names the pid namespace with the host, and waits for a dead-looking pid of another namespace',
    async () => {
      expect(HOST_ID.startsWith(hostname())).toBe(true);
      expect(HOST_ID).toMatch(/\/pid:\[\d+\]$/);
      // Same host name, another container: its pid cannot be checked from here, so it is not stale.
      const other = `${hostname()}/pid:[1]`;
      await writeFile(
        lockPathFor(file),
        JSON.stringify({ pid: 999_999_999, host: other, process: 'p', at: 'x' }),
      );
      await expect(withFileLock(file, () => 'x', { timeoutMs: 100 })).rejects.toThrow(
        `held by pid 999999999 on ${other}`,
      );
      // The same dead pid in our own namespace is stale and broken.
      await writeFile(
        lockPathFor(file),
        JSON.stringify({ pid: 999_999_999, host: HOST_ID, process: 'p', at: 'x' }),
      );
      expect(await withFileLock(file, () => 'taken', { timeoutMs: 2_000 })).toBe('taken');
    },
  );

  it('a lock left by a container that restarted with a new pid namespace is broken once its heartbeat stopped', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../children/lock-holder.mjs'), file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('locked') ? resolve() : undefined));
      child.on('exit', () => reject(new Error('holder exited early')));
    });
    // What the restarted container finds: a lock naming PID 1 of the old pid namespace. PID 1 is
    // alive in ours too, and a pid of another namespace cannot be checked: only the beat can tell.
    const lock = lockPathFor(file);
    await writeFile(
      lock,
      JSON.stringify({ pid: 1, host: `${hostname()}/pid:[4026500001]`, process: 'old-pid-1', at: 'x' }),
    );
    await expect(withFileLock(file, () => 'x', { timeoutMs: 200 })).rejects.toBeInstanceOf(
      FileLockTimeoutError,
    );
    // While its holder lives, the lock file keeps being touched, however old it looked.
    const old = () => new Date(Date.now() - 60_000);
    await utimes(lock, old(), old());
    for (let i = 0; i < 200 && Date.now() - (await stat(lock)).mtimeMs > 30_000; i++) await delay(50);
    expect(Date.now() - (await stat(lock)).mtimeMs).toBeLessThan(30_000);
    await expect(withFileLock(file, () => 'x', { timeoutMs: 200 })).rejects.toBeInstanceOf(
      FileLockTimeoutError,
    );
    // The holder dies; nobody touches the lock for longer than staleAfterMs (10 s by default).
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await utimes(lock, old(), old());
    expect(await withFileLock(file, () => 'taken', { timeoutMs: 2_000 })).toBe('taken');
    // And a waiter never waits forever: a fresh lock it cannot judge ends in a timeout error.
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-host', process: 'p', at: 'x' }));
    await expect(withFileLock(file, () => 'x', { timeoutMs: 100 })).rejects.toThrow('held by pid 1');
  });

  it('waits for a lock held on another host instead of breaking it', async () => {
    await writeFile(lockPathFor(file), JSON.stringify({ pid: 999_999_999, host: 'elsewhere', at: 'x' }));
    await expect(withFileLock(file, () => 'x', { timeoutMs: 100 })).rejects.toThrow(
      'held by pid 999999999 on elsewhere',
    );
  });

  it('breaks an unreadable lock file only once it is old', async () => {
    await writeFile(lockPathFor(file), '');
    await expect(
      withFileLock(file, () => 'x', { timeoutMs: 100, unreadableStaleMs: 60_000 }),
    ).rejects.toThrow(FileLockTimeoutError);
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPathFor(file), old, old);
    expect(await withFileLock(file, () => 'ok', { timeoutMs: 1_000, unreadableStaleMs: 60_000 })).toBe('ok');
  });
});
