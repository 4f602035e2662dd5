import { createReadStream } from 'node:fs';
import { AUDIT_GENESIS_HASH, type AuditRecord, hashRecord, recordShapeProblem } from './record.js';

export type AuditProblemKind =
  | 'bad-json'
  | 'bad-record'
  | 'hash-mismatch'
  | 'broken-chain'
  | 'seq-gap'
  | 'seq-reorder'
  | 'torn-tail'
  | 'anchor-mismatch'
  | 'truncated'
  | 'key-required'
  | 'unkeyed';

/**
 * A record known from outside the file (`seq:hash` as `audit verify` printed it, kept elsewhere):
 * the chain alone cannot show that records were cut from the end, or that the whole file was
 * rewritten with a fresh chain; a kept anchor can.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** Parses `seq:hash` (hash: 64 hex digits); undefined when malformed. */
export function parseAnchor(text: string): AuditAnchor | undefined {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!m) return undefined;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? { seq, hash: m[2]! } : undefined;
}

/** The first thing wrong with a trail. */
export interface AuditProblem {
  /** 1-based line number in the file. */
  line: number;
  /** The seq this line should have had. */
  expectedSeq: number;
  /** The seq the line carries, when it could be read. */
  seq?: number;
  kind: AuditProblemKind;
  message: string;
}

export type AuditVerifyResult =
  | {
      ok: true;
      records: number;
      lastSeq: number;
      lastHash: string;
      /** With a key: the seq of the first keyed record (the ones before were written without a key). */
      keyedFrom?: number;
    }
  | { ok: false; /** Records intact before the problem. */ records: number; problem: AuditProblem };

interface Line {
  no: number;
  text: string;
  /** False for a last line without its newline. */
  terminated: boolean;
}

async function* lines(path: string): AsyncGenerator<Line> {
  // readline drops the information whether the last line had a newline; track bytes instead.
  const stream = createReadStream(path, { encoding: 'utf8' });
  let buffered = '';
  let no = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    buffered += chunk;
    let i: number;
    while ((i = buffered.indexOf('\n')) >= 0) {
      yield { no: ++no, text: buffered.slice(0, i), terminated: true };
      buffered = buffered.slice(i + 1);
    }
  }
  if (buffered.length > 0) yield { no: ++no, text: buffered, terminated: false };
}

/**
 * Walks the trail and reports the first broken or missing record: unreadable line, hash that
 * does not match the content (edited), prevHash that does not match the previous record
 * (inserted or rewritten), or a seq out of order (a record deleted or moved).
 *
 * Keyed records (written with `audit.key`) need `key` to be checked. With `key`, the trail must be
 * keyed: records written before the key was set may only form a prefix, followed by at least one
 * keyed record (whose HMAC covers the prefix through the chain); a trail without any keyed record,
 * or an unkeyed record after a keyed one, is what someone without the key would have written.
 */
export async function verifyAuditTrail(
  path: string,
  options: { anchor?: AuditAnchor | undefined; key?: Buffer | undefined } = {},
): Promise<AuditVerifyResult> {
  const { anchor, key } = options;
  let keyedFrom: number | undefined;
  let prevHash = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  let records = 0;
  let lastLine = 0;
  const fail = (problem: AuditProblem): AuditVerifyResult => ({ ok: false, records, problem });

  const it = lines(path);
  for await (const { no, text, terminated } of it) {
    let value: unknown;
    try {
      if (text.trim() === '') throw new Error('empty line');
      value = JSON.parse(text);
    } catch (err) {
      const kind = terminated ? 'bad-json' : 'torn-tail';
      const why =
        kind === 'torn-tail'
          ? 'the last line is incomplete (an append was interrupted)'
          : `not valid JSON (${(err as Error).message})`;
      return fail({ line: no, expectedSeq, kind, message: why });
    }
    const shape = recordShapeProblem(value);
    if (shape) {
      const seq = (value as { seq?: unknown } | null)?.seq;
      return fail({
        line: no,
        expectedSeq,
        ...(typeof seq === 'number' ? { seq } : {}),
        kind: 'bad-record',
        message: `not an audit record: ${shape}`,
      });
    }
    const record = value as AuditRecord;
    const keyed = record.mac !== undefined;
    if (keyed && !key) {
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: 'key-required',
        message: `record seq ${record.seq} is keyed (audit.key): verifying it needs the key (give --config with audit.key)`,
      });
    }
    if (!keyed && key && keyedFrom !== undefined) {
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: 'unkeyed',
        message: `record seq ${record.seq} has no HMAC after keyed records: it was written without the key`,
      });
    }
    if (hashRecord(record, key) !== record.hash) {
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: 'hash-mismatch',
        message: keyed
          ? `record seq ${record.seq} does not match its HMAC: modified, or written with another key`
          : `record seq ${record.seq} was modified: its hash does not match its content`,
      });
    }
    if (keyed) keyedFrom ??= record.seq;
    if (record.seq !== expectedSeq) {
      const later = record.seq < expectedSeq || (await seqAppearsLater(it, expectedSeq));
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: later ? 'seq-reorder' : 'seq-gap',
        message: later
          ? `records out of order: expected seq ${expectedSeq}, found seq ${record.seq}`
          : `record seq ${expectedSeq}${record.seq - expectedSeq > 1 ? `..${record.seq - 1}` : ''} is missing (found seq ${record.seq})`,
      });
    }
    if (record.prevHash !== prevHash) {
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: 'broken-chain',
        message: `record seq ${record.seq} does not chain to the record before it (prevHash mismatch)`,
      });
    }
    if (anchor && record.seq === anchor.seq && record.hash !== anchor.hash) {
      return fail({
        line: no,
        expectedSeq,
        seq: record.seq,
        kind: 'anchor-mismatch',
        message: `record seq ${record.seq} is not the one the anchor names (hash ${anchor.hash.slice(0, 12)}...): the trail was rewritten up to here`,
      });
    }
    prevHash = record.hash;
    expectedSeq += 1;
    records += 1;
    lastLine = no;
  }
  if (anchor && anchor.seq >= expectedSeq) {
    return fail({
      line: lastLine + 1,
      expectedSeq,
      kind: 'truncated',
      message: `the trail ends at seq ${expectedSeq - 1}, but the anchor names seq ${anchor.seq}: records were removed from its end`,
    });
  }
  if (key && records > 0 && keyedFrom === undefined) {
    // Nothing in the trail proves it was written with the key: none of its records counts as intact.
    return {
      ok: false,
      records: 0,
      problem: {
        line: 1,
        expectedSeq: 1,
        kind: 'unkeyed',
        message:
          'no record carries an HMAC although a key was given: the trail was written, or rewritten, without the key',
      },
    };
  }
  return {
    ok: true,
    records,
    lastSeq: expectedSeq - 1,
    lastHash: prevHash,
    ...(keyedFrom !== undefined ? { keyedFrom } : {}),
  };
}

async function seqAppearsLater(rest: AsyncGenerator<Line>, seq: number): Promise<boolean> {
  for await (const { text } of rest) {
    try {
      if ((JSON.parse(text) as { seq?: unknown })?.seq === seq) return true;
    } catch {
      // unreadable lines cannot hold it
    }
  }
  return false;
}
