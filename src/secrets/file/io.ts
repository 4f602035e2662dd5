import { type BigIntStats, promises as fs, statSync } from 'node:fs';
import { unavailable } from './errors.js';

/** A file's identity and version: changes whenever its content may have. */
export const stampOf = (st: BigIntStats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

/**
 * Synchronous on purpose: a stat of a local file takes microseconds, while the promise version
 * (thread pool, BigIntStats, promise) cost more CPU than anything else in a cached read.
 */
export function statNow(file: string): BigIntStats | undefined {
  try {
    return statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    throw unavailable(file, err);
  }
}

export async function openFile(file: string, flags: 'r' | 'r+'): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unavailable(file, err);
  }
}

/** Bytes [start, end) of an open file (fewer if it is shorter). */
export async function readRange(handle: fs.FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(Math.max(0, end - start));
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await handle.read(buf, got, buf.length - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

export async function writeAt(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    written += bytesWritten;
  }
}
