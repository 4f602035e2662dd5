import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The journal `<path>.journal` continues one snapshot: the commits made since it was written.
 *
 *   header:  MAGIC (4) | FORMAT (1) | GENERATION (16) | IV (12) | TAG (16)
 *   record:  LENGTH (4, big-endian) | IV (12) | TAG (16) | AES-256-GCM ciphertext (LENGTH bytes)
 *
 * The header's tag authenticates its first 21 bytes (GCM over no plaintext): the generation is the
 * snapshot's, so a journal left over from an earlier (or a later) snapshot is recognised and
 * ignored. Each record's additional data is the journal's magic, format and generation, the
 * record's sequence number, its offset in the file and its length: a record cannot be moved,
 * reordered, dropped from the middle or replayed into another journal without failing
 * authentication. A record's plaintext is the JSON `{"put":[{id, ...StoredSecret}, ...]}` of the
 * secrets its commit changed, each in full.
 */
export const JOURNAL_MAGIC = Buffer.from('SRFJ', 'ascii');
export const JOURNAL_FORMAT = 1;
export const GENERATION_LENGTH = 16;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const FIXED_LENGTH = JOURNAL_MAGIC.length + 1 + GENERATION_LENGTH;
export const JOURNAL_HEADER_LENGTH = FIXED_LENGTH + IV_LENGTH + TAG_LENGTH;
const PREFIX_LENGTH = 4;
export const RECORD_OVERHEAD = PREFIX_LENGTH + IV_LENGTH + TAG_LENGTH;
/** Far above any real record; a larger length prefix is damage, not data. */
const MAX_RECORD_LENGTH = 256 * 1024 * 1024;

export class JournalError extends Error {
  override name = 'JournalError';
}

export function newGeneration(): Buffer {
  return randomBytes(GENERATION_LENGTH);
}

/** The header of a new, empty journal for `generation`. */
export function journalHeader(key: Buffer, generation: Buffer): Buffer {
  const fixed = Buffer.concat([JOURNAL_MAGIC, Buffer.from([JOURNAL_FORMAT]), generation]);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(fixed);
  cipher.final();
  return Buffer.concat([fixed, iv, cipher.getAuthTag()]);
}

/** The generation a journal header names; throws JournalError when it is not a valid header. */
export function openJournalHeader(key: Buffer, data: Buffer): Buffer {
  if (data.length < JOURNAL_HEADER_LENGTH || !data.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    throw new JournalError('the journal has no valid header');
  }
  const format = data[JOURNAL_MAGIC.length];
  if (format !== JOURNAL_FORMAT) {
    throw new JournalError(
      `unsupported journal format ${String(format)} (this version reads ${JOURNAL_FORMAT})`,
    );
  }
  const decipher = createDecipheriv(
    'aes-256-gcm',
    key,
    data.subarray(FIXED_LENGTH, FIXED_LENGTH + IV_LENGTH),
    {
      authTagLength: TAG_LENGTH,
    },
  );
  decipher.setAAD(data.subarray(0, FIXED_LENGTH));
  decipher.setAuthTag(data.subarray(FIXED_LENGTH + IV_LENGTH, JOURNAL_HEADER_LENGTH));
  try {
    decipher.final();
  } catch {
    throw new JournalError('the journal header failed authentication: wrong key, or the file was modified');
  }
  return Buffer.from(data.subarray(JOURNAL_MAGIC.length + 1, FIXED_LENGTH));
}

function recordAad(generation: Buffer, seq: number, offset: number, length: number): Buffer {
  const tail = Buffer.alloc(4 + 8 + 4);
  tail.writeUInt32BE(seq, 0);
  tail.writeBigUInt64BE(BigInt(offset), 4);
  tail.writeUInt32BE(length, 12);
  return Buffer.concat([JOURNAL_MAGIC, Buffer.from([JOURNAL_FORMAT, 0x52 /* R */]), generation, tail]);
}

/** Record number `seq`, to be written at byte `offset` of the journal of `generation`. */
export function sealRecord(
  key: Buffer,
  generation: Buffer,
  seq: number,
  offset: number,
  plaintext: Buffer,
): Buffer {
  if (plaintext.length === 0 || plaintext.length > MAX_RECORD_LENGTH) {
    throw new RangeError(`journal record of ${plaintext.length} bytes`);
  }
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(recordAad(generation, seq, offset, plaintext.length));
  const body = [cipher.update(plaintext), cipher.final()];
  const prefix = Buffer.alloc(PREFIX_LENGTH);
  prefix.writeUInt32BE(plaintext.length, 0);
  return Buffer.concat([prefix, iv, cipher.getAuthTag(), ...body]);
}

export interface RecordsRead {
  /** Plaintexts of the valid records, in order. */
  records: Buffer[];
  /** Offset just past the last valid record: where the next record goes. */
  validEnd: number;
  /** Number of the next record. */
  nextSeq: number;
  /** Bytes after validEnd that are the torn remains of an append that did not finish. */
  tornBytes: number;
}

/**
 * Reads the records in `data`, the journal's bytes from `offset` (a record boundary) to its end,
 * the first of them numbered `seq`.
 *
 * The tail may be torn: an append cut short by a crash (or still being written by another
 * process) is never acknowledged, and is skipped. A bad record counts as torn only when nothing
 * can follow it: its length reaches past the end of the file, or it ends exactly at the end, or
 * every byte from it to the end is zero (a file system that grew the file in a power cut but
 * never wrote the data). A bad record with data after it is damage: JournalError.
 */
export function readRecords(
  key: Buffer,
  generation: Buffer,
  data: Buffer,
  offset: number,
  seq: number,
): RecordsRead {
  const records: Buffer[] = [];
  let pos = 0;
  let n = seq;
  const torn = (): RecordsRead => ({
    records,
    validEnd: offset + pos,
    nextSeq: n,
    tornBytes: data.length - pos,
  });
  const zerosToEnd = () => data.subarray(pos).every((b) => b === 0);
  while (pos < data.length) {
    if (data.length - pos < RECORD_OVERHEAD) return torn();
    const length = data.readUInt32BE(pos);
    const end = pos + RECORD_OVERHEAD + length;
    // Reaching past the end, it is the last record, cut short.
    if (end > data.length) return torn();
    let plain: Buffer | undefined;
    if (length > 0) {
      const iv = data.subarray(pos + PREFIX_LENGTH, pos + PREFIX_LENGTH + IV_LENGTH);
      const tag = data.subarray(pos + PREFIX_LENGTH + IV_LENGTH, pos + RECORD_OVERHEAD);
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
      decipher.setAAD(recordAad(generation, n, offset + pos, length));
      decipher.setAuthTag(tag);
      try {
        plain = Buffer.concat([decipher.update(data.subarray(pos + RECORD_OVERHEAD, end)), decipher.final()]);
      } catch {
        plain = undefined;
      }
    }
    if (!plain) {
      if (end === data.length || zerosToEnd()) return torn();
      throw new JournalError(
        `record ${n} at offset ${offset + pos} failed authentication, and records follow it: the journal was modified or damaged`,
      );
    }
    records.push(plain);
    pos = end;
    n += 1;
  }
  return torn();
}
