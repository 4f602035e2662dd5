import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/**
 * The journal `<path>.journal`: the commits made since the snapshot `<path>` was written, one
 * record per commit. Pure functions over its bytes; reading, locking and writing live in index.ts.
 *
 *   header     MAGIC "SRFJ" (4) | FORMAT (1) | GENERATION (16) | MAC (16)          bytes 0..36
 *   committed  END (8, big-endian) | MAC (16)                                      bytes 37..60
 *   record     LENGTH (4) | MAC (16) | IV (12) | AES-256-GCM ciphertext (LENGTH) | TAG (16)
 *
 * GENERATION names the snapshot the journal continues. COMMITTED is the end of the last record
 * whose commit was synced: it is rewritten in place after each sync, and a reader never reads
 * past it, so it never sees a commit that is not on disk (or that failed and was cut off).
 *
 * A record's LENGTH is authenticated on its own (the MAC after it, over generation, offset and
 * length), so a damaged length is told from a record cut short: a record whose MAC holds but whose
 * bytes run past the end of the file was cut short by a crash; a record whose MAC fails is damage,
 * unless every byte from it to the end of the file is zero. The ciphertext's additional data is
 * the same generation, offset and length: a record cannot be moved, reordered or replayed into
 * another journal. MACs use a key derived from the store key (HKDF), never the key itself.
 */
export const JOURNAL_MAGIC = Buffer.from('SRFJ', 'ascii');
/** 2: the reverted journal of late 2026 wrote format 1, which this layout does not read. */
export const JOURNAL_FORMAT = 2;
export const GENERATION_LENGTH = 16;
const MAC_LENGTH = 16;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const FIXED_LENGTH = JOURNAL_MAGIC.length + 1 + GENERATION_LENGTH;
export const COMMITTED_OFFSET = FIXED_LENGTH + MAC_LENGTH;
const COMMITTED_LENGTH = 8 + MAC_LENGTH;
/** Where the first record starts; also the committed end of an empty journal. */
export const RECORDS_OFFSET = COMMITTED_OFFSET + COMMITTED_LENGTH;
/** A record's length prefix and its MAC. */
export const RECORD_HEAD_LENGTH = 4 + MAC_LENGTH;
export const RECORD_OVERHEAD = RECORD_HEAD_LENGTH + IV_LENGTH + TAG_LENGTH;
/** Far above any real record (one commit's secrets). */
export const MAX_RECORD_LENGTH = 64 * 1024 * 1024;

export class JournalError extends Error {
  override name = 'JournalError';
}

export function newGeneration(): Buffer {
  return randomBytes(GENERATION_LENGTH);
}

const macKeys = new WeakMap<Buffer, Buffer>();
function macKey(key: Buffer): Buffer {
  let k = macKeys.get(key);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'secret-rotator journal mac', 32));
    macKeys.set(key, k);
  }
  return k;
}

function mac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', macKey(key));
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, MAC_LENGTH);
}

const macOk = (expected: Buffer, actual: Buffer) =>
  actual.length === expected.length && timingSafeEqual(expected, actual);

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

const TAG_COMMITTED = Buffer.from('committed');
const TAG_RECORD = Buffer.from('record');

/** The committed slot saying the journal of `generation` is valid up to `end`. */
export function committedSlot(key: Buffer, generation: Buffer, end: number): Buffer {
  const e = u64(end);
  return Buffer.concat([e, mac(key, TAG_COMMITTED, generation, e)]);
}

/** The first bytes of a new, empty journal for `generation`. */
export function journalHeader(key: Buffer, generation: Buffer): Buffer {
  const fixed = Buffer.concat([JOURNAL_MAGIC, Buffer.from([JOURNAL_FORMAT]), generation]);
  return Buffer.concat([fixed, mac(key, fixed), committedSlot(key, generation, RECORDS_OFFSET)]);
}

export interface JournalHead {
  generation: Buffer;
  /** End of the last committed record. */
  committed: number;
}

/** Reads the header and committed slot (the first RECORDS_OFFSET bytes); JournalError if invalid. */
export function readJournalHead(key: Buffer, data: Buffer): JournalHead {
  if (data.length < RECORDS_OFFSET || !data.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
    throw new JournalError('it has no valid header');
  }
  const format = data[JOURNAL_MAGIC.length];
  if (format !== JOURNAL_FORMAT) {
    throw new JournalError(
      `unsupported journal format ${String(format)} (this version reads ${JOURNAL_FORMAT})`,
    );
  }
  if (!macOk(mac(key, data.subarray(0, FIXED_LENGTH)), data.subarray(FIXED_LENGTH, COMMITTED_OFFSET))) {
    throw new JournalError('its header failed authentication: wrong key, or the file was modified');
  }
  const generation = Buffer.from(data.subarray(JOURNAL_MAGIC.length + 1, FIXED_LENGTH));
  const end = data.subarray(COMMITTED_OFFSET, COMMITTED_OFFSET + 8);
  if (!macOk(mac(key, TAG_COMMITTED, generation, end), data.subarray(COMMITTED_OFFSET + 8, RECORDS_OFFSET))) {
    throw new JournalError('its committed length failed authentication: the file was modified or damaged');
  }
  const committed = Number(end.readBigUInt64BE());
  if (committed < RECORDS_OFFSET) throw new JournalError('its committed length is impossible');
  return { generation, committed };
}

function recordAd(generation: Buffer, offset: number, length: number): Buffer {
  const tail = Buffer.alloc(12);
  tail.writeBigUInt64BE(BigInt(offset), 0);
  tail.writeUInt32BE(length, 8);
  return Buffer.concat([TAG_RECORD, generation, tail]);
}

/** The record holding `plaintext`, to be written at byte `offset` of the journal of `generation`. */
export function sealRecord(key: Buffer, generation: Buffer, offset: number, plaintext: Buffer): Buffer {
  if (plaintext.length === 0 || plaintext.length > MAX_RECORD_LENGTH) {
    throw new RangeError(`journal record of ${plaintext.length} bytes`);
  }
  const ad = recordAd(generation, offset, plaintext.length);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(plaintext.length);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(ad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([length, mac(key, ad), iv, body, final, cipher.getAuthTag()]);
}

export interface RecordsRead {
  /** Plaintexts of the valid records, in order. */
  records: Buffer[];
  /** Offset just past the last valid record. */
  end: number;
  /**
   * After `end`: nothing ('none'), or the remains of an append that provably never finished
   * ('torn': shorter than a record head, or a record cut short, or zero bytes to the end).
   */
  tail: 'none' | 'torn';
}

/**
 * Reads the records in `data`, the journal's bytes from `offset` (a record boundary) on.
 *
 * `committed`: every byte is part of a synced commit, so anything that is not a valid record is
 * damage (JournalError). Otherwise (the bytes after the committed end, read under the lock after a
 * writer died) a torn tail is reported as such; a record that is complete in length but fails
 * authentication, or a record head that fails its MAC while non-zero bytes follow, is damage.
 */
export function readRecords(
  key: Buffer,
  generation: Buffer,
  data: Buffer,
  offset: number,
  committed: boolean,
): RecordsRead {
  const records: Buffer[] = [];
  let pos = 0;
  const at = () => offset + pos;
  const torn = (why: string): RecordsRead => {
    if (committed) {
      throw new JournalError(
        `the committed record at offset ${at()} is ${why}: the file was truncated or damaged`,
      );
    }
    return { records, end: at(), tail: 'torn' };
  };
  const zerosToEnd = () => data.subarray(pos).every((b) => b === 0);
  while (pos < data.length) {
    if (data.length - pos < RECORD_HEAD_LENGTH) return torn('cut short');
    const length = data.readUInt32BE(pos);
    const ad = recordAd(generation, at(), length);
    if (
      length === 0 ||
      length > MAX_RECORD_LENGTH ||
      !macOk(mac(key, ad), data.subarray(pos + 4, pos + RECORD_HEAD_LENGTH))
    ) {
      if (!committed && zerosToEnd()) return torn('zero-filled');
      throw new JournalError(
        `the record at offset ${at()} has a damaged length: the file was modified or damaged`,
      );
    }
    const end = pos + RECORD_OVERHEAD + length;
    if (end > data.length) return torn('cut short');
    const iv = data.subarray(pos + RECORD_HEAD_LENGTH, pos + RECORD_HEAD_LENGTH + IV_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(ad);
    decipher.setAuthTag(data.subarray(end - TAG_LENGTH, end));
    try {
      records.push(
        Buffer.concat([
          decipher.update(data.subarray(pos + RECORD_HEAD_LENGTH + IV_LENGTH, end - TAG_LENGTH)),
          decipher.final(),
        ]),
      );
    } catch {
      throw new JournalError(
        `the record at offset ${at()} failed authentication: the file was modified or damaged`,
      );
    }
    pos = end;
  }
  return { records, end: at(), tail: 'none' };
}
