import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { SecretRef } from '../../config/schema.js';
import { describeRef, resolveRef } from '../../config/refs.js';
import { SecretStoreError } from '../types.js';
import { KEY_LENGTH } from './envelope.js';
import { fsyncDir } from '../../util/fsync-dir.js';

/** 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padding optional); undefined otherwise. */
export function decodeKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const buf = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (buf.length === KEY_LENGTH) return buf;
  }
  return undefined;
}

/** The key from `store.key`; the error names the reference, never its value. */
export function keyFromRef(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Buffer {
  let text: string;
  try {
    text = resolveRef(ref, env);
  } catch (err) {
    throw new SecretStoreError('invalid', `store.key (${describeRef(ref)}): ${(err as Error).message}`);
  }
  const key = decodeKey(text);
  if (!key) {
    throw new SecretStoreError(
      'invalid',
      `store.key (${describeRef(ref)}) must be ${KEY_LENGTH} bytes written as base64 or as 64 hex digits`,
    );
  }
  return key;
}

/** Reads `<path>.key`; refuses it when group or others have any access to it. */
export async function readKeyFile(keyPath: string): Promise<Buffer | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(keyPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretStoreError(
      'unavailable',
      `cannot read key file ${keyPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    const st = await handle.stat();
    if ((st.mode & 0o077) !== 0) {
      throw new SecretStoreError(
        'invalid',
        `key file ${keyPath} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: group or others may ` +
          `access it; run chmod 600 ${keyPath}`,
      );
    }
    const key = decodeKey(await handle.readFile('utf8'));
    if (!key) {
      throw new SecretStoreError(
        'invalid',
        `key file ${keyPath} must hold ${KEY_LENGTH} bytes written as base64 or as 64 hex digits`,
      );
    }
    return key;
  } finally {
    await handle.close();
  }
}

/**
 * Creates `<path>.key` with mode 0600 holding a fresh random key. Written to a temporary file and
 * linked into place, so a reader never sees a half-written key and two creators cannot both win.
 * Returns the key that is in place afterwards (ours or the other creator's).
 */
export async function createKeyFile(keyPath: string): Promise<Buffer> {
  const tmp = `${keyPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const key = randomBytes(KEY_LENGTH);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key.toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, keyPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = await readKeyFile(keyPath);
    if (!theirs) throw err;
    return theirs;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(keyPath);
  return key;
}
