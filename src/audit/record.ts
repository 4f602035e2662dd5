import { createHmac } from 'node:crypto';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { Scrubber } from '../log/scrubber.js';
import type { AuditEvent } from './types.js';

/** One line of the JSONL trail: the event, when, its place in the chain and its hash. */
export interface AuditRecord extends AuditEvent {
  /** ISO time the record was appended. */
  ts: string;
  /** 1 for the first record, then +1 per record. */
  seq: number;
  /** `hash` of the previous record; AUDIT_GENESIS_HASH for the first. */
  prevHash: string;
  /** Set when written with `audit.key`: `hash` is then an HMAC, not a plain digest. */
  mac?: typeof AUDIT_MAC;
  /**
   * Of the canonical JSON of this record without `hash` (hex): sha256, or HMAC-SHA256 with the
   * audit key when `mac` is set.
   */
  hash: string;
}

/** The `mac` of a keyed record. */
export const AUDIT_MAC = 'hmac-sha256';

/** What the first record chains from. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Scrubs secrets out of a string: the one scrubber's `scrub` (src/log/scrubber.ts). */
export type AuditScrubber = Scrubber['scrub'];

const STRING_FIELDS = [
  'type',
  'rotationId',
  'targetId',
  'provider',
  'trigger',
  'actor',
  'reason',
  'request',
  'step',
  'outcome',
  'errorKind',
  'vendorCode',
  'requestId',
  'versionId',
  'detail',
] as const satisfies readonly (keyof AuditEvent)[];
const NUMBER_FIELDS = [
  'attempt',
  'httpStatus',
  'durationMs',
] as const satisfies readonly (keyof AuditEvent)[];

/**
 * Copies only the known AuditEvent fields (a stray `password` member of a caller's object never
 * reaches the file) and passes every string through the scrubber.
 */
export function sanitizeEvent(event: AuditEvent, scrub: AuditScrubber = (s) => s): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const key of STRING_FIELDS) {
    const v = event[key];
    if (v === undefined || v === null) continue;
    out[key] = scrub(String(v));
  }
  for (const key of NUMBER_FIELDS) {
    const v = event[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TypeError(`audit event ${key} must be a finite number, got ${typeof v}`);
    }
    out[key] = v;
  }
  for (const key of ['type', 'rotationId', 'targetId', 'provider', 'trigger', 'actor'] as const) {
    if (typeof out[key] !== 'string') throw new TypeError(`audit event ${key} is required`);
  }
  if (typeof out.attempt !== 'number') throw new TypeError('audit event attempt is required');
  return out as unknown as AuditEvent;
}

/** sha256, or HMAC-SHA256 with `key` (hex). */
function digest(text: string, key: Buffer | undefined): string {
  return key ? createHmac('sha256', key).update(text, 'utf8').digest('hex') : sha256Hex(text);
}

/**
 * The `hash` a record should carry. A keyed record (`mac` set) needs the key: without it this
 * throws, since nobody without the key can compute (or check) it.
 */
export function hashRecord(record: Omit<AuditRecord, 'hash'>, key?: Buffer): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  if (rest.mac !== undefined && !key)
    throw new Error(`record seq ${rest.seq} is keyed: its hash needs the key`);
  return digest(canonicalJson(rest), rest.mac !== undefined ? key : undefined);
}

export function buildRecord(
  event: AuditEvent,
  ts: string,
  seq: number,
  prevHash: string,
  key?: Buffer,
): AuditRecord {
  return buildRecordLine(event, ts, seq, prevHash, key).record;
}

/** Every member a sanitized event can have. */
const EVENT_KEYS: ReadonlySet<string> = new Set<string>([...STRING_FIELDS, ...NUMBER_FIELDS]);

/** A record's members in canonical (sorted) order, each with its `"key":` prefix. */
const RECORD_ORDER: readonly { key: string; prefix: string }[] = [
  ...EVENT_KEYS,
  'ts',
  'seq',
  'prevHash',
  'mac',
  'hash',
]
  .sort()
  .map((key) => ({ key, prefix: `${JSON.stringify(key)}:` }));

/** True when every enumerable member of `event` is one a sanitized event can have. */
function hasOnlyEventKeys(event: AuditEvent): boolean {
  for (const key in event) if (!EVENT_KEYS.has(key)) return false;
  return true;
}

/**
 * The record and its line in one pass: the members are serialised once, hashed without `hash`,
 * and the line is the same parts with `hash` in its sorted place. Same result as `hashRecord` and
 * `recordLine` (a property test holds them equal); the trail appends with this. With `key` the
 * record is keyed: `mac` is set and `hash` is the HMAC.
 *
 * A sanitized event (what the trail appends) has only known members, so their sorted order is
 * fixed and computed once; any other object takes the general path (sorting its keys per call
 * cost more than the rest of the record put together).
 */
export function buildRecordLine(
  event: AuditEvent,
  ts: string,
  seq: number,
  prevHash: string,
  key?: Buffer,
): { record: AuditRecord; line: string } {
  if (!hasOnlyEventKeys(event)) return buildAnyRecordLine(event, ts, seq, prevHash, key);
  const fields = event as unknown as Record<string, unknown>;
  const parts: string[] = [];
  let hashAt = 0;
  for (const { key: name, prefix } of RECORD_ORDER) {
    let v: unknown;
    if (name === 'ts') v = ts;
    else if (name === 'seq') v = seq;
    else if (name === 'prevHash') v = prevHash;
    else if (name === 'mac') v = key ? AUDIT_MAC : undefined;
    else if (name === 'hash') {
      hashAt = parts.length;
      continue;
    } else v = fields[name];
    if (v !== undefined) parts.push(prefix + canonicalJson(v));
  }
  const hash = digest(`{${parts.join(',')}}`, key);
  parts.splice(hashAt, 0, `"hash":"${hash}"`);
  const record = { ...event, ts, seq, prevHash } as AuditRecord;
  if (key) record.mac = AUDIT_MAC;
  record.hash = hash;
  return { record, line: `{${parts.join(',')}}\n` };
}

/** buildRecordLine for any object: its keys sorted per call. */
function buildAnyRecordLine(
  event: AuditEvent,
  ts: string,
  seq: number,
  prevHash: string,
  key?: Buffer,
): { record: AuditRecord; line: string } {
  const body: Record<string, unknown> = { ...event, ts, seq, prevHash };
  delete body.hash;
  delete body.mac;
  if (key) body.mac = AUDIT_MAC;
  const keys = Object.keys(body);
  keys.push('hash');
  keys.sort();
  const parts: string[] = [];
  let hashAt = 0;
  for (const key of keys) {
    if (key === 'hash') {
      hashAt = parts.length;
      continue;
    }
    const v = body[key];
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  const hash = digest(`{${parts.join(',')}}`, key);
  parts.splice(hashAt, 0, `"hash":"${hash}"`);
  return { record: { ...(body as Omit<AuditRecord, 'hash'>), hash }, line: `{${parts.join(',')}}\n` };
}

/** The line written to disk (keys in canonical order, so the file reads the same everywhere). */
export function recordLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a parsed line has the shape of a record; returns what is wrong, or undefined. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return 'seq must be a positive integer';
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return 'hash must be 64 hex digits';
  if (typeof r.prevHash !== 'string' || !HEX64.test(r.prevHash)) return 'prevHash must be 64 hex digits';
  if (typeof r.ts !== 'string' || Number.isNaN(Date.parse(r.ts))) return 'ts must be an ISO time';
  if (r.mac !== undefined && r.mac !== AUDIT_MAC) return `mac must be ${AUDIT_MAC} when present`;
  for (const key of ['type', 'rotationId', 'targetId', 'provider', 'trigger', 'actor'] as const) {
    if (typeof r[key] !== 'string') return `${key} must be a string`;
  }
  if (typeof r.attempt !== 'number') return 'attempt must be a number';
  return undefined;
}
