import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The file's bytes: MAGIC (4) | FORMAT (1) | IV (12) | TAG (16) | AES-256-GCM ciphertext.
 * The 5-byte header is authenticated as additional data, so a changed format byte fails too.
 */
export const MAGIC = Buffer.from('SRFS', 'ascii');
export const ENVELOPE_FORMAT = 1;
const HEADER_LENGTH = MAGIC.length + 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
export const KEY_LENGTH = 32;

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

function header(): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([ENVELOPE_FORMAT])]);
}

export function seal(key: Buffer, plaintext: Buffer): Buffer {
  return Buffer.concat(sealChunks(key, plaintext));
}

/**
 * The same bytes as `seal`, as the chunks of the file in order (for a vectored write): a store of
 * 10,000 secrets is megabytes, and concatenating them cost two more copies per commit.
 */
export function sealChunks(key: Buffer, plaintext: Buffer | readonly string[]): Buffer[] {
  const iv = randomBytes(IV_LENGTH);
  const head = header();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(head);
  // Text pieces (UTF-8) are encrypted one by one: no whole-plaintext string or buffer is made.
  const body = Buffer.isBuffer(plaintext)
    ? [cipher.update(plaintext)]
    : plaintext.map((piece) => cipher.update(piece, 'utf8'));
  body.push(cipher.final());
  return [head, iv, cipher.getAuthTag(), ...body];
}

/** Throws EnvelopeError with a reason that holds no content. */
export function open(key: Buffer, data: Buffer): Buffer {
  if (data.length < HEADER_LENGTH + IV_LENGTH + TAG_LENGTH || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new EnvelopeError('not a secret-rotator store file');
  }
  const format = data[MAGIC.length];
  if (format !== ENVELOPE_FORMAT) {
    throw new EnvelopeError(
      `unsupported file format ${String(format)} (this version reads ${ENVELOPE_FORMAT})`,
    );
  }
  const iv = data.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH);
  const tag = data.subarray(HEADER_LENGTH + IV_LENGTH, HEADER_LENGTH + IV_LENGTH + TAG_LENGTH);
  const body = data.subarray(HEADER_LENGTH + IV_LENGTH + TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(data.subarray(0, HEADER_LENGTH));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new EnvelopeError('authentication failed: wrong key, or the file was modified');
  }
}
