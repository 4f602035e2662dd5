import { statSync, type Stats } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { withFileLock } from '../util/file-lock.js';
import { fsyncDir } from '../util/fsync-dir.js';
import {
  AUDIT_GENESIS_HASH,
  type AuditRecord,
  type AuditScrubber,
  buildRecordLine,
  recordShapeProblem,
  sanitizeEvent,
} from './record.js';
import type { AuditEvent, AuditSink } from './types.js';

export interface FileAuditTrailOptions {
  /** The JSONL file (config `audit.path`); its directory is created when missing. */
  path: string;
  /** Applied to every string of every event before it is written. */
  scrub?: AuditScrubber;
  /** Source of `ts` (default: the system clock). */
  clock?: Clock;
  /** How long an append waits for another process's lock (default 10s). */
  lockTimeoutMs?: number;
  /** `audit.key`: every record appended is keyed (its hash an HMAC with this key). */
  key?: Buffer | undefined;
}

/** An AuditSink writing a hash-chained JSONL file. */
export interface FileAuditTrail extends AuditSink {
  readonly path: string;
  /** Resolves once the record is on disk (fsync). */
  append(event: AuditEvent): Promise<void>;
  /** Like append, resolving with the record as written. */
  appendRecord(event: AuditEvent): Promise<AuditRecord>;
  close(): Promise<void>;
}

/** The trail's last record cannot be read, so no record can be chained to it. */
export class AuditTrailCorruptError extends Error {
  override name = 'AuditTrailCorruptError';
}

interface Tail {
  /** File size this tail was read at (after our own last write). */
  size: number;
  ino: number;
  seq: number;
  hash: string;
}

const TAIL_CHUNK = 64 * 1024;

/**
 * Opens (creating if needed) the audit trail. Several processes may append to the same file:
 * each append takes the file lock, and re-reads the last record only when the file changed
 * since this process's own last append.
 */
export async function openFileAuditTrail(options: FileAuditTrailOptions): Promise<FileAuditTrail> {
  const { path } = options;
  const clock = options.clock ?? systemClock;
  const lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000 };
  await mkdir(dirname(path), { recursive: true });

  let handle: FileHandle | undefined;
  let tail: Tail | undefined;
  let closed = false;

  /** The open file and its fstat; reopened when the file was replaced or removed behind our back. */
  async function ensureHandle(): Promise<{ fh: FileHandle; st: Stats }> {
    // Synchronous: microseconds for a local file, and cheaper in CPU than the promise version.
    const onDisk = statSync(path, { throwIfNoEntry: false });
    if (handle && onDisk) {
      const st = await handle.stat();
      if (onDisk.ino === st.ino) return { fh: handle, st };
    }
    await handle?.close();
    handle = undefined;
    tail = undefined;
    const created = !onDisk;
    const fh = await open(path, 'a+', 0o640);
    handle = fh;
    if (created) await fsyncDir(path);
    return { fh, st: await fh.stat() };
  }

  /** Appends `events` in order, chained, in one write and one fsync (under the lock). */
  async function appendLocked(events: readonly AuditEvent[]): Promise<AuditRecord[]> {
    const { fh, st } = await ensureHandle();
    if (!tail || tail.size !== st.size || tail.ino !== st.ino) {
      tail = await readTail(fh, st.size, st.ino);
    }
    const at = tail;
    const records: AuditRecord[] = [];
    let text = '';
    let seq = at.seq;
    let hash = at.hash;
    for (const event of events) {
      const ts = new Date(clock.now()).toISOString();
      const { record, line } = buildRecordLine(event, ts, seq + 1, hash, options.key);
      records.push(record);
      text += line;
      seq = record.seq;
      hash = record.hash;
    }
    const bytes = Buffer.from(text, 'utf8');
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      // None of these records is acknowledged: take back whatever part of them reached the file.
      tail = undefined;
      await fh.truncate(at.size).catch(() => undefined);
      throw err;
    }
    tail = { size: at.size + bytes.length, ino: st.ino, seq, hash };
    return records;
  }

  interface Waiting {
    event: AuditEvent;
    resolve: (record: AuditRecord) => void;
    reject: (err: unknown) => void;
  }
  let waiting: Waiting[] = [];
  let flushing: Promise<void> | undefined;

  /**
   * Group commit: the events that arrive while an append is on its way to disk go out together in
   * the next one, under one lock and one fsync, each still resolving only once it is on disk.
   */
  async function flush(): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        const records = await withFileLock(path, () => appendLocked(batch.map((w) => w.event)), lockOptions);
        batch.forEach((w, i) => w.resolve(records[i]!));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    flushing = undefined;
  }

  const trail: FileAuditTrail = {
    path,
    async append(event) {
      await trail.appendRecord(event);
    },
    appendRecord(event) {
      if (closed) return Promise.reject(new Error('audit trail is closed'));
      let clean: AuditEvent;
      try {
        clean = sanitizeEvent(event, options.scrub);
      } catch (err) {
        return Promise.reject(err);
      }
      return new Promise<AuditRecord>((resolve, reject) => {
        waiting.push({ event: clean, resolve, reject });
        flushing ??= flush();
      });
    },
    async close() {
      closed = true;
      await flushing;
      await handle?.close();
      handle = undefined;
    },
  };
  return trail;
}

/**
 * Reads the last record (under the lock). A last line without its newline is a write that was
 * interrupted and never acknowledged: it is cut off, unless it is a whole record that only lost
 * its newline, which is then completed.
 */
async function readTail(fh: FileHandle, size: number, ino: number): Promise<Tail> {
  if (size === 0) return { size, ino, seq: 0, hash: AUDIT_GENESIS_HASH };
  let end = size;
  const lastByte = await readAt(fh, size - 1, 1);
  if (lastByte[0] !== 0x0a) {
    const start = await lastNewlineBefore(fh, size);
    const partial = (await readAt(fh, start, size - start)).toString('utf8');
    if (parseRecord(partial)) {
      await fh.write('\n');
      await fh.sync();
      size += 1;
      end = size;
    } else {
      await fh.truncate(start);
      await fh.sync();
      size = start;
      end = start;
      if (size === 0) return { size, ino, seq: 0, hash: AUDIT_GENESIS_HASH };
    }
  }
  const start = await lastNewlineBefore(fh, end - 1);
  const line = (await readAt(fh, start, end - 1 - start)).toString('utf8');
  const record = parseRecord(line);
  if (!record) {
    throw new AuditTrailCorruptError(
      `the last record of the audit trail cannot be read (${describeBadLine(line)}); ` +
        'run `rotator audit verify` and repair the trail before appending',
    );
  }
  return { size, ino, seq: record.seq, hash: record.hash };
}

function parseRecord(line: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return recordShapeProblem(value) === undefined ? (value as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}

function describeBadLine(line: string): string {
  try {
    return recordShapeProblem(JSON.parse(line)) ?? 'unknown problem';
  } catch {
    return 'not valid JSON';
  }
}

/** Offset just after the last '\n' before `end` (0 if none). */
async function lastNewlineBefore(fh: FileHandle, end: number): Promise<number> {
  let pos = end;
  while (pos > 0) {
    const from = Math.max(0, pos - TAIL_CHUNK);
    const chunk = await readAt(fh, from, pos - from);
    const i = chunk.lastIndexOf(0x0a);
    if (i >= 0) return from + i + 1;
    pos = from;
  }
  return 0;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}
