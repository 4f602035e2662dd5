import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, STORE_TYPES } from '../../src/secrets/index.js';
import { createFileStore } from '../../src/secrets/file/index.js';
import { open, seal } from '../../src/secrets/file/envelope.js';
import { decodeKey } from '../../src/secrets/file/key.js';
import { RECORD_OVERHEAD, RECORDS_OFFSET } from '../../src/secrets/file/journal.js';
import { acquireFileLock } from '../../src/util/file-lock.js';
import { jsonSecret, passwordIn } from '../support/secret-text.js';
import { collectErrorText } from './support.js';
import { caught } from '../support/store-error.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-file-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const value = (password = `Pw-${randomUUID()}`): string => jsonSecret(password);

/** Records in a journal, walking the length prefixes. */
async function journalRecordCount(path: string): Promise<number> {
  const journal = await readFile(`${path}.journal`);
  let n = 0;
  for (let pos = RECORDS_OFFSET; pos < journal.length; pos += RECORD_OVERHEAD + journal.readUInt32BE(pos))
    n++;
  return n;
}

/** A pid that surely does not run: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

describe('file store: encryption and keys', () => {
  it('creates a 0600 key file and 0600 store and journal files that do not hold the password in clear', async () => {
    const path = join(dir, 'secrets.enc');
    const store = createStore({ type: 'file', path });
    const val = value();
    const t = randomUUID();
    await store.stagePending('db/main', t, val);
    // The second commit goes to the journal.
    const val2 = value();
    await store.stagePending('db/main', randomUUID(), val2);
    expect((await stat(`${path}.key`)).mode & 0o777).toBe(0o600);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(`${path}.journal`)).mode & 0o777).toBe(0o600);
    const bytes = await readFile(path);
    const journal = await readFile(`${path}.journal`);
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('SRFS');
    expect(journal.subarray(0, 4).toString('ascii')).toBe('SRFJ');
    expect(journal.length).toBeGreaterThan(100);
    for (const b of [bytes, journal]) {
      for (const secret of [passwordIn(val), passwordIn(val2), 'admin']) {
        expect(b.includes(Buffer.from(secret))).toBe(false);
      }
    }
    expect(decodeKey(await readFile(`${path}.key`, 'utf8'))).toHaveLength(32);
    // No temporary files or lock left behind.
    expect((await readdir(dir)).sort()).toEqual(['secrets.enc', 'secrets.enc.journal', 'secrets.enc.key']);
  });

  it('encrypts every write with a fresh IV', async () => {
    const path = join(dir, 's.enc');
    // compactBytes 0: a commit compacts as soon as the journal is larger than the snapshot.
    const store = createFileStore({ path, compactBytes: 0 });
    const t = randomUUID();
    await store.stagePending('a', t, value());
    const first = await readFile(path);
    await store.promote('a', t);
    await store.dropPending('a', t).catch(() => undefined);
    const t2 = randomUUID();
    await store.stagePending('a', t2, value());
    await store.promote('a', t2);
    const second = await readFile(path);
    expect(first.subarray(5, 17).equals(second.subarray(5, 17))).toBe(false);
    // Journal records: IV after the 4-byte length and 16-byte MAC of each.
    const jpath = join(dir, 'j.enc');
    const appender = createFileStore({ path: jpath });
    for (let i = 0; i < 3; i++) await appender.stagePending('a', randomUUID(), value());
    const journal = await readFile(`${jpath}.journal`);
    const ivs = new Set<string>();
    let pos = RECORDS_OFFSET;
    while (pos < journal.length) {
      ivs.add(journal.subarray(pos + 20, pos + 32).toString('hex'));
      pos += RECORD_OVERHEAD + journal.readUInt32BE(pos);
    }
    expect(await journalRecordCount(jpath)).toBe(2);
    expect(ivs.size).toBe(2);
  });

  it('refuses a key file that group or others can read, naming the file', async () => {
    const path = join(dir, 's.enc');
    await createFileStore({ path }).stagePending('a', randomUUID(), value());
    await chmod(`${path}.key`, 0o644);
    const err = await caught(createFileStore({ path }).getCurrent('a'));
    expect(err.kind).toBe('invalid');
    expect(err.message).toContain(`${path}.key`);
    expect(err.message).toContain('0644');
    const err2 = await caught(createFileStore({ path }).stagePending('a', randomUUID(), value()));
    expect(err2.kind).toBe('invalid');
  });

  it('a wrong key is a corrupt error naming the path, and the file is left alone', async () => {
    const path = join(dir, 's.enc');
    const val = value();
    await createFileStore({ path, keyBytes: randomBytes(32) }).stagePending('a', randomUUID(), val);
    const before = await readFile(path);
    const other = createFileStore({ path, keyBytes: randomBytes(32) });
    const err = await caught(other.getPending('a'));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/wrong key/);
    const err2 = await caught(other.stagePending('a', randomUUID(), value()));
    expect(err2.kind).toBe('corrupt');
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(collectErrorText(err)).not.toContain(passwordIn(val));
  });

  it('tampered, truncated or foreign files are corrupt errors naming the path, never replaced', async () => {
    const path = join(dir, 's.enc');
    const key = randomBytes(32);
    await createFileStore({ path, keyBytes: key }).stagePending('a', randomUUID(), value());
    const good = await readFile(path);
    const variants: [string, Buffer][] = [
      ['flipped ciphertext byte', Buffer.from(good.map((b, i) => (i === good.length - 3 ? b ^ 0x01 : b)))],
      ['flipped tag byte', Buffer.from(good.map((b, i) => (i === 20 ? b ^ 0x80 : b)))],
      ['flipped IV byte', Buffer.from(good.map((b, i) => (i === 6 ? b ^ 0x01 : b)))],
      ['other format byte', Buffer.from(good.map((b, i) => (i === 4 ? 2 : b)))],
      ['truncated', good.subarray(0, 20)],
      ['empty', Buffer.alloc(0)],
      ['plain JSON', Buffer.from('{"format":1,"secrets":[]}')],
    ];
    for (const [label, bytes] of variants) {
      await writeFile(path, bytes);
      const store = createFileStore({ path, keyBytes: key });
      const err = await caught(store.describe('a'));
      expect(err.kind, label).toBe('corrupt');
      expect(err.message, label).toContain(path);
      await caught(store.stagePending('a', randomUUID(), value()));
      expect((await readFile(path)).equals(bytes), label).toBe(true);
    }
  });

  it('takes the key from store.key as base64 or hex and names the reference when it is wrong', async () => {
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('hex'), key.toString('base64url')]) {
      const path = join(dir, `k-${randomUUID()}.enc`);
      const env = { ROTATOR_FILE_KEY: text };
      const val = value();
      const t = randomUUID();
      await createStore({ type: 'file', path, key: { env: 'ROTATOR_FILE_KEY' } }, { env }).stagePending(
        'a',
        t,
        val,
      );
      // The same key in another encoding opens it; no key file was created.
      const again = createFileStore({ path, keyBytes: key });
      expect(await again.getPending('a')).toEqual({ versionId: t, text: val });
      await expect(stat(`${path}.key`)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    const short = randomBytes(16).toString('base64');
    const err = await caught(
      Promise.resolve().then(() =>
        createStore(
          { type: 'file', path: join(dir, 'x.enc'), key: { env: 'ROTATOR_FILE_KEY' } },
          { env: { ROTATOR_FILE_KEY: short } },
        ),
      ),
    );
    expect(err.kind).toBe('invalid');
    expect(err.message).toContain('store.key (env ROTATOR_FILE_KEY)');
    expect(err.message).not.toContain(short);
    const unset = await caught(
      Promise.resolve().then(() =>
        createStore(
          { type: 'file', path: join(dir, 'x.enc'), key: { env: 'ROTATOR_FILE_KEY' } },
          { env: {} },
        ),
      ),
    );
    expect(unset.message).toContain('ROTATOR_FILE_KEY is not set');
  });

  it('refuses to make a new key when the store exists but its key file is gone', async () => {
    const path = join(dir, 's.enc');
    await createFileStore({ path }).stagePending('a', randomUUID(), value());
    const before = await readFile(path);
    await unlink(`${path}.key`);
    const err = await caught(createFileStore({ path }).stagePending('a', randomUUID(), value()));
    expect(err.message).toContain(`${path}.key`);
    expect(err.message).toMatch(/missing/);
    await expect(stat(`${path}.key`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readFile(path)).equals(before)).toBe(true);
  });
});

describe('file store: state format', () => {
  it('reads a format-1 file (string maps) as the JSON it stood for, and writes format 3', async () => {
    const path = join(dir, 'old.enc');
    const key = randomBytes(32);
    const t = randomUUID();
    const password = `Pw-${randomUUID()}`;
    const legacy = {
      format: 1,
      secrets: [
        {
          id: 'db/main',
          createdAt: 1000,
          versions: [
            {
              versionId: t,
              value: { host: 'h.example', password, engine: 'otc-css', username: 'admin' },
              stages: ['AWSCURRENT'],
              createdAt: 1000,
            },
          ],
        },
      ],
    };
    await writeFile(path, seal(key, Buffer.from(JSON.stringify(legacy))));
    const store = createFileStore({ path, keyBytes: key });
    // The order the rotator wrote then: username, password, engine, the rest sorted.
    const text = JSON.stringify({ username: 'admin', password, engine: 'otc-css', host: 'h.example' });
    expect(await store.getCurrent('db/main')).toEqual({ versionId: t, text });
    const t2 = randomUUID();
    await store.stagePending('db/main', t2, 'a bare password');
    const written = JSON.parse(open(key, await readFile(path)).toString('utf8')) as {
      format: number;
      secrets: { versions: { text: string }[] }[];
    };
    expect(written.format).toBe(3);
    expect(written.secrets[0]!.versions.map((v) => v.text)).toEqual([text, 'a bare password']);
    // Reopened: the migrated snapshot and the journal read back the same.
    expect(await createFileStore({ path, keyBytes: key }).getPending('db/main')).toEqual({
      versionId: t2,
      text: 'a bare password',
    });
  });

  it('opens a format-2 single-file store, migrates it at the first commit and keeps every version', async () => {
    const path = join(dir, 'v2.enc');
    const key = randomBytes(32);
    const t = randomUUID();
    const text = value();
    const v2 = {
      format: 2,
      secrets: [
        { id: 'a', createdAt: 5, versions: [{ versionId: t, text, stages: ['AWSCURRENT'], createdAt: 5 }] },
      ],
    };
    await writeFile(path, seal(key, Buffer.from(JSON.stringify(v2))), { mode: 0o600 });
    const store = createFileStore({ path, keyBytes: key });
    expect(await store.getCurrent('a')).toEqual({ versionId: t, text });
    const t2 = randomUUID();
    await store.stagePending('a', t2, 'next');
    await store.promote('a', t2);
    const reopened = createFileStore({ path, keyBytes: key });
    expect(await reopened.getCurrent('a')).toEqual({ versionId: t2, text: 'next' });
    expect(await reopened.getPrevious('a')).toEqual({ versionId: t, text });
    expect(JSON.parse(open(key, await readFile(path)).toString('utf8')).format).toBe(3);
    expect((await readdir(dir)).sort()).toEqual(['v2.enc', 'v2.enc.journal']);
  });

  it('refuses a snapshot of the withdrawn journal build instead of ignoring its journal', async () => {
    const path = join(dir, 'withdrawn.enc');
    const key = randomBytes(32);
    const withdrawn = { format: 2, generation: 'ab'.repeat(16), secrets: [] };
    await writeFile(path, seal(key, Buffer.from(JSON.stringify(withdrawn))));
    const err = await caught(createFileStore({ path, keyBytes: key }).describe('a'));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toMatch(/withdrawn journal build/);
  });
});

describe('file store: history and locking', () => {
  it('keeps a bounded history but never drops a labelled version', async () => {
    const path = join(dir, 's.enc');
    const store = createFileStore({ path, maxVersions: 5 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const t = randomUUID();
      ids.push(t);
      await store.stagePending('a', t, value());
      if (i < 11) await store.promote('a', t);
    }
    const described = (await store.describe('a'))!;
    expect(described).toHaveLength(5);
    expect(described.map((v) => v.versionId)).toEqual(ids.slice(-5).reverse());
    expect(described[0]?.stages).toEqual(['AWSPENDING']);
    expect(described[1]?.stages).toEqual(['AWSCURRENT']);
    expect(described[2]?.stages).toEqual(['AWSPREVIOUS']);
  });

  it('fails with a clear timeout naming the lock when another holder keeps it', async () => {
    const path = join(dir, 's.enc');
    const lock = await acquireFileLock(path);
    try {
      const err = await caught(
        createFileStore({ path, lockTimeoutMs: 150 }).stagePending('a', randomUUID(), value()),
      );
      expect(err.kind).toBe('unavailable');
      expect(err.message).toContain(`${path}.lock`);
      expect(err.message).toContain(`pid ${process.pid}`);
    } finally {
      await lock.release();
    }
    await createFileStore({ path, lockTimeoutMs: 150 }).stagePending('a', randomUUID(), value());
  });

  it('recovers a lock left by a process that no longer runs', async () => {
    const path = join(dir, 's.enc');
    const pid = await deadPid();
    await writeFile(`${path}.lock`, JSON.stringify({ pid, host: hostname(), nonce: 'dead', at: Date.now() }));
    const store = createFileStore({ path, lockTimeoutMs: 2_000 });
    const t = randomUUID();
    await store.stagePending('a', t, value());
    expect((await store.getPending('a'))?.versionId).toBe(t);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('recovers a lock left by an earlier process with our pid (a restarted container PID 1)', async () => {
    const path = join(dir, 's.enc');
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'dead0000', at: Date.now() - 3_600_000 }),
    );
    const store = createFileStore({ path, lockTimeoutMs: 1_500 });
    const t = randomUUID();
    await store.stagePending('a', t, value());
    expect((await store.getPending('a'))?.versionId).toBe(t);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removes temporary files of writers that died, an earlier process with our pid included', async () => {
    const path = join(dir, 's.enc');
    const earlierMe = join(dir, `.s.enc.tmp-${process.pid}-dead0dead0dead00-0a0b0c0d`);
    const legacyMe = join(dir, `.s.enc.tmp-${process.pid}-0a0b0c0d`);
    const live = join(dir, `.s.enc.tmp-${process.ppid}-a1b2c3d4e5f60718-0a0b0c0d`);
    for (const f of [earlierMe, legacyMe, live]) await writeFile(f, 'x');
    await createFileStore({ path }).stagePending('a', randomUUID(), value());
    const temps = (await readdir(dir)).filter((n) => n.startsWith('.s.enc.tmp-')).map((n) => join(dir, n));
    expect(temps).toEqual([live]);
  });

  it('serialises concurrent writers in one process without losing an update', async () => {
    const path = join(dir, 's.enc');
    const stores = [createFileStore({ path }), createFileStore({ path })];
    const tokens = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(tokens.map((t, i) => stores[i % 2]!.stagePending(`s${i % 3}`, t, value())));
    const all = new Set<string>();
    for (const s of ['s0', 's1', 's2']) for (const v of (await stores[0]!.describe(s))!) all.add(v.versionId);
    expect(all).toEqual(new Set(tokens));
  });

  it('is registered in the store factory, as is every store folder', async () => {
    const folders = (await readdir(new URL('../../src/secrets/', import.meta.url), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect([...STORE_TYPES].sort()).toEqual(folders);
    const err = await caught(
      Promise.resolve().then(() =>
        createStore({ type: 'vault' } as unknown as Parameters<typeof createStore>[0]),
      ),
    );
    expect(err.message).toBe("store.type 'vault' must be one of: aws-secrets-manager, file");
  });
});
