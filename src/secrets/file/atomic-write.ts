import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { PROCESS_ID, isOwnerGone } from '../../util/file-lock.js';
import { fsyncDir } from '../../util/fsync-dir.js';

export function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/**
 * Replaces `path` with `data` so that after a crash at any moment the file holds either the old or
 * the new bytes: write a temporary file in the same directory, fsync it, rename it over `path`,
 * fsync the directory.
 */
export async function writeFileAtomic(
  path: string,
  data: Buffer | readonly Buffer[],
  mode = 0o600,
): Promise<void> {
  const tmp = join(
    dirname(path),
    `${tempPrefix(path)}${process.pid}-${PROCESS_ID}-${randomBytes(4).toString('hex')}`,
  );
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    if (Buffer.isBuffer(data)) await handle.writeFile(data);
    else await writeAll(handle, data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path);
}

/** Writes every chunk in order with vectored writes, continuing after short writes. */
async function writeAll(handle: fs.FileHandle, chunks: readonly Buffer[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
      bytesWritten -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (rest.length > 0 && bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
}

/**
 * Removes temporary files left by writers that died: names `<prefix><pid>-<process id>-...` in the
 * directory of `path` whose writer no longer runs (see isOwnerGone: a pid reused by this process
 * does not keep an earlier process's file alive). Earlier versions wrote `<prefix><pid>-...`.
 */
export async function removeStaleTemps(path: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-(?:([0-9a-f]{16})-)?/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid > 0 && isOwnerGone({ pid, host: hostname(), process: m[2] })) {
      await fs.unlink(join(dirname(path), name)).catch(() => undefined);
    }
  }
}
