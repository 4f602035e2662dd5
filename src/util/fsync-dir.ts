import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a rename, link or create durable: fsync the directory that holds `path`. */
export async function fsyncDir(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await dir.close();
  }
}
