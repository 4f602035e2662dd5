import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical.js';
import { buildRecordLine, hashRecord, recordLine, sanitizeEvent } from '../../src/audit/record.js';
import type { AuditEvent } from '../../src/audit/types.js';

/** The reference form: canonical JSON written out by its definition (sorted keys, no undefined). */
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => referenceCanonical(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonical(v)}`).join(',')}}`;
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const event: fc.Arbitrary<AuditEvent> = fc.record(
  {
    type: fc.constantFrom('rotation-started', 'step', 'rotation-succeeded', 'alert'),
    rotationId: fc.uuid(),
    targetId: text,
    provider: fc.constantFrom('ncp-cdss', 'huaweicloud-css', 'otc-css'),
    trigger: fc.constantFrom('schedule', 'cli', 'api'),
    actor: text,
    reason: fc.option(text, { nil: undefined }),
    request: fc.option(text, { nil: undefined }),
    attempt: fc.integer({ min: 1, max: 100 }),
    step: fc.option(text, { nil: undefined }),
    outcome: fc.option(text, { nil: undefined }),
    errorKind: fc.option(text, { nil: undefined }),
    httpStatus: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
    vendorCode: fc.option(text, { nil: undefined }),
    requestId: fc.option(text, { nil: undefined }),
    versionId: fc.option(text, { nil: undefined }),
    durationMs: fc.option(fc.integer({ min: 0, max: 1e9 }), { nil: undefined }),
    detail: fc.option(text, { nil: undefined }),
  },
  { requiredKeys: ['type', 'rotationId', 'targetId', 'provider', 'trigger', 'actor', 'attempt'] },
) as fc.Arbitrary<AuditEvent>;

describe('audit record serialisation', () => {
  it('canonicalJson equals the reference definition for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(referenceCanonical(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('the one-pass record and line equal hashRecord and recordLine of the same record', () => {
    fc.assert(
      fc.property(
        event,
        fc.integer({ min: 1, max: 1e9 }),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
        (e, seq, prev) => {
          const clean = sanitizeEvent(e);
          const { record, line } = buildRecordLine(clean, '2026-11-29T08:00:00.000Z', seq, prev);
          expect(record.hash).toBe(hashRecord(record));
          expect(line).toBe(recordLine(record));
          expect(line).toBe(`${referenceCanonical(record)}\n`);
          expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(record)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('an object with members beyond an event (not sanitized) gives the same record and line too', () => {
    fc.assert(
      fc.property(
        event,
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue(), { maxKeys: 4 }),
        fc.option(fc.uint8Array({ minLength: 16, maxLength: 32 }), { nil: undefined }),
        (e, extra, keyBytes) => {
          const key = keyBytes && Buffer.from(keyBytes);
          const raw = { ...e, ...extra, hash: 'stale', ts: 'stale' } as unknown as AuditEvent;
          const { record, line } = buildRecordLine(raw, '2026-11-29T08:00:00.000Z', 7, '0'.repeat(64), key);
          expect(record.ts).toBe('2026-11-29T08:00:00.000Z');
          expect(record.hash).toBe(hashRecord(record, key));
          expect(line).toBe(recordLine(record));
          expect(line).toBe(`${referenceCanonical(record)}\n`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keyed: the same, with mac set and hash the HMAC-SHA256 (with this key only) of the rest', () => {
    fc.assert(
      fc.property(
        event,
        fc.integer({ min: 1, max: 1e9 }),
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        (e, seq, keyBytes) => {
          const key = Buffer.from(keyBytes);
          const clean = sanitizeEvent(e);
          const prev = '0'.repeat(64);
          const { record, line } = buildRecordLine(clean, '2026-11-29T08:00:00.000Z', seq, prev, key);
          expect(record.mac).toBe('hmac-sha256');
          const { hash, ...rest } = record;
          expect(hash).toBe(createHmac('sha256', key).update(referenceCanonical(rest)).digest('hex'));
          expect(hashRecord(record, key)).toBe(hash);
          expect(hashRecord(record, Buffer.concat([key, Buffer.from('x')]))).not.toBe(hash);
          expect(() => hashRecord(record)).toThrow(/keyed/);
          expect(line).toBe(recordLine(record));
        },
      ),
      { numRuns: 300 },
    );
  });
});
