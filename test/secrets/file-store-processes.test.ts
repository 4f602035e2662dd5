import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/secrets/file/index.js';
import { passwordOf } from '../support/secret-text.js';

const CHILD = fileURLToPath(new URL('../children/file-store-writer.mjs', import.meta.url));
const seqToken = (n: number) => `seq-${String(n).padStart(36, '0')}`;

interface Child {
  proc: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  waitFor(predicate: (line: string) => boolean, timeoutMs?: number): Promise<void>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  const waiters: (() => void)[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    exited,
    waitFor: (predicate, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child did not print the expected line; stderr: ${stderr.slice(0, 2000)}`)),
          timeoutMs,
        );
        const check = () => {
          if (lines.some(predicate)) {
            clearTimeout(timer);
            resolve();
          } else if (proc.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`child exited ${proc.exitCode}; stderr: ${stderr.slice(0, 2000)}`));
          } else waiters.push(check);
        };
        proc.on('exit', check);
        check();
      }),
  };
}

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-file-proc-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file store across processes', () => {
  it.each([
    ['appending to the journal', []],
    ['compacting every few commits', ['0']],
  ])(
    'survives SIGKILL at random moments %s: always the old or the new state',
    async (_label, extra) => {
      const path = join(dir, 'secrets.enc');
      const KILLS = 25;
      let acked = 0;
      let staleLocks = 0;
      let progressed = 0;
      for (let i = 0; i < KILLS; i++) {
        const child = start(['loop', path, 'db/main', ...extra]);
        await child.waitFor((l) => l === 'ready');
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
        await kill(child);
        const oks = child.lines.filter((l) => l.startsWith('ok ')).map((l) => Number(l.slice(3)));
        if (oks.length) progressed += 1;
        acked = Math.max(acked, ...oks);
        if (
          await stat(`${path}.lock`).then(
            () => true,
            () => false,
          )
        )
          staleLocks += 1;

        // Opens, decrypts and parses: never corrupt.
        const store = createFileStore({ path });
        const current = await store.getCurrent('db/main');
        const seq = current ? Number((JSON.parse(current.text) as { seq: number }).seq) : 0;
        // Promoted in the file but killed before it could print "ok": one step ahead at most.
        expect([acked, acked + 1]).toContain(seq);
        acked = seq;
        if (current) {
          expect(current.versionId).toBe(seqToken(seq));
          expect(passwordOf(current)).toBe(`pw-${seq}-ä漢"\\`);
        }
        const described = (await store.describe('db/main')) ?? [];
        const withStage = (s: string) => described.filter((v) => v.stages.includes(s as 'AWSCURRENT'));
        expect(withStage('AWSCURRENT').length).toBe(seq > 0 ? 1 : 0);
        expect(withStage('AWSPREVIOUS').map((v) => v.versionId)).toEqual(seq > 1 ? [seqToken(seq - 1)] : []);
        // Killed between stage and promote: the pending version is the next one.
        for (const v of withStage('AWSPENDING')) expect(v.versionId).toBe(seqToken(seq + 1));
      }
      // A last run recovers whatever lock the last kill left and cleans temporary files up.
      const last = start(['loop', path, 'db/main', ...extra]);
      await last.waitFor((l) => l.startsWith('ok '));
      await kill(last);
      const final = Number(
        (JSON.parse((await createFileStore({ path }).getCurrent('db/main'))!.text) as { seq: number }).seq,
      );
      expect(final).toBeGreaterThan(acked);
      expect(progressed).toBeGreaterThan(0);
      console.info(
        `file store crash test: ${KILLS} kills, ${progressed} runs progressed, ${staleLocks} stale locks`,
      );
    },
    120_000,
  );

  it('recovers the lock of a process killed while holding it', async () => {
    const path = join(dir, 'secrets.enc');
    const holder = start(['hold-lock', path]);
    await holder.waitFor((l) => l === 'locked');
    await expect(stat(`${path}.lock`)).resolves.toBeTruthy();
    // While it runs, a writer waits and then gives up with a clear error.
    await expect(
      createFileStore({ path, lockTimeoutMs: 200 }).stagePending(
        'a',
        seqToken(1),
        JSON.stringify({
          username: 'u',
          password: 'p-123456',
          engine: 'e',
        }),
      ),
    ).rejects.toThrow(new RegExp(`pid ${holder.proc.pid}`));
    await kill(holder);
    const store = createFileStore({ path, lockTimeoutMs: 5_000 });
    await store.stagePending(
      'a',
      seqToken(1),
      JSON.stringify({ username: 'u', password: 'p-123456', engine: 'e' }),
    );
    expect((await store.getPending('a'))?.versionId).toBe(seqToken(1));
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);

  it('never loses an update when processes stage and promote concurrently', async () => {
    const path = join(dir, 'secrets.enc');
    const WORKERS = 3;
    const COUNT = 25;
    const workers = Array.from({ length: WORKERS }, (_, w) =>
      start(['worker', path, String(w), String(COUNT)]),
    );
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'done', 90_000)));
    await Promise.all(workers.map((w) => w.exited));
    const store = createFileStore({ path });
    const token = (w: number, k: number) => `w${w}-${String(k).padStart(33, '0')}`;
    const shared = (await store.describe('shared'))!;
    const expected = new Set<string>();
    for (let w = 0; w < WORKERS; w++) for (let k = 0; k < COUNT; k++) expected.add(token(w, k));
    expect(new Set(shared.map((v) => v.versionId))).toEqual(expected);
    expect(shared.filter((v) => v.stages.includes('AWSCURRENT'))).toHaveLength(1);
    expect(shared.filter((v) => v.stages.includes('AWSPREVIOUS'))).toHaveLength(1);
    for (let w = 0; w < WORKERS; w++) {
      const own = (await store.describe(`own-${w}`))!;
      expect(own).toHaveLength(COUNT);
      expect((await store.getCurrent(`own-${w}`))?.versionId).toBe(token(w, COUNT - 1));
      expect((await store.getPrevious(`own-${w}`))?.versionId).toBe(token(w, COUNT - 2));
    }
    expect((await readdir(dir)).sort()).toEqual(['secrets.enc', 'secrets.enc.journal', 'secrets.enc.key']);
  }, 120_000);
});
