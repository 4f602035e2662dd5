import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file-trail.js';
import { AUDIT_GENESIS_HASH, type AuditRecord, hashRecord } from '../../src/audit/record.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { manualClock } from '../../src/core/clock.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-trail-'));
  path = join(dir, 'nested', 'audit.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const event = (i: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  type: 'step',
  rotationId: `rot-${i}`,
  targetId: 't1',
  provider: 'otc-css',
  trigger: 'schedule',
  actor: 'scheduler',
  attempt: 1,
  step: 'apply',
  outcome: 'ok',
  ...extra,
});

async function records(): Promise<AuditRecord[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as AuditRecord);
}

describe('file audit trail', () => {
  it('chains records from the genesis hash, with seq, ts and a hash over the canonical record', async () => {
    const clock = manualClock(Date.UTC(2026, 2, 1, 12));
    const trail = await openFileAuditTrail({ path, clock });
    const first = await trail.appendRecord(event(1, { httpStatus: 200, requestId: 'req-1' }));
    clock.advance(1500);
    await trail.append(event(2));
    await trail.close();
    const [a, b] = await records();
    expect(a).toEqual(first);
    expect(a!.seq).toBe(1);
    expect(a!.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(a!.ts).toBe('2026-03-01T12:00:00.000Z');
    expect(a!.hash).toBe(hashRecord(a!));
    expect(b!.seq).toBe(2);
    expect(b!.prevHash).toBe(a!.hash);
    expect(b!.ts).toBe('2026-03-01T12:00:01.500Z');
    expect(await verifyAuditTrail(path)).toEqual({ ok: true, records: 2, lastSeq: 2, lastHash: b!.hash });
  });

  it('continues the chain after reopening and when another writer appended behind its back', async () => {
    const one = await openFileAuditTrail({ path });
    const two = await openFileAuditTrail({ path });
    await one.append(event(1));
    await two.append(event(2));
    await one.append(event(3));
    await Promise.all([one.append(event(4)), two.append(event(5)), one.append(event(6))]);
    await one.close();
    await two.close();
    const three = await openFileAuditTrail({ path });
    await three.append(event(7));
    await three.close();
    const list = await records();
    expect(list.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(list.map((r) => r.rotationId)).size).toBe(7);
    expect((await verifyAuditTrail(path)).ok).toBe(true);
  });

  it('never writes a secret: strings go through the scrubber and unknown fields are dropped', async () => {
    const secret = 'Xy9!secret-password-Q';
    const trail = await openFileAuditTrail({
      path,
      scrub: (s) => s.split(secret).join('[redacted]'),
    });
    await trail.append({
      ...event(1),
      detail: `vendor said: password ${secret} is too weak`,
      vendorCode: secret,
      password: secret,
    } as AuditEvent);
    await trail.close();
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('"password"');
    const [r] = await records();
    expect(r!.detail).toBe('vendor said: password [redacted] is too weak');
    expect((await verifyAuditTrail(path)).ok).toBe(true);
  });

  it('rejects an event missing a required field, naming it', async () => {
    const trail = await openFileAuditTrail({ path });
    const { targetId: _t, ...noTarget } = event(1);
    await expect(trail.append(noTarget as AuditEvent)).rejects.toThrow('audit event targetId is required');
    await expect(trail.append({ ...event(2), httpStatus: Number.NaN })).rejects.toThrow(
      'audit event httpStatus must be a finite number',
    );
    await trail.append(event(3));
    await trail.close();
    expect((await records()).map((r) => r.seq)).toEqual([1]);
  });

  it('cuts off a torn last line left by an interrupted append and keeps a valid chain', async () => {
    const trail = await openFileAuditTrail({ path });
    await trail.append(event(1));
    await trail.close();
    await appendFile(path, '{"actor":"sched');
    expect((await verifyAuditTrail(path)).ok).toBe(false);
    const again = await openFileAuditTrail({ path });
    await again.append(event(2));
    await again.close();
    expect((await records()).map((r) => r.seq)).toEqual([1, 2]);
    expect((await verifyAuditTrail(path)).ok).toBe(true);
  });

  it('completes a last record that only lost its newline instead of cutting it', async () => {
    const trail = await openFileAuditTrail({ path });
    await trail.append(event(1));
    await trail.close();
    await writeFile(path, (await readFile(path, 'utf8')).trimEnd());
    const again = await openFileAuditTrail({ path });
    await again.append(event(2));
    await again.close();
    expect((await records()).map((r) => r.rotationId)).toEqual(['rot-1', 'rot-2']);
    expect((await verifyAuditTrail(path)).ok).toBe(true);
  });

  it('refuses to chain to a last record it cannot read', async () => {
    await writeFile(path.replace('nested/', ''), 'not json\n');
    const trail = await openFileAuditTrail({ path: path.replace('nested/', '') });
    await expect(trail.append(event(1))).rejects.toThrow(
      /last record of the audit trail cannot be read \(not valid JSON\)/,
    );
    await trail.close();
  });

  it('appends past a lock left by an earlier process with our pid (a restarted container PID 1)', async () => {
    const trail = await openFileAuditTrail({ path, lockTimeoutMs: 1_500 });
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), at: new Date(0).toISOString() }),
    );
    await trail.append(event(1));
    await trail.close();
    expect((await records()).map((r) => r.seq)).toEqual([1]);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps a valid chain with three processes appending at once', async () => {
    const child = join(import.meta.dirname, '../children/audit-appender.mjs');
    const perWriter = 40;
    const runs = ['w1', 'w2', 'w3'].map(
      (name) =>
        new Promise<number>((resolve, reject) => {
          const p = spawn(process.execPath, [child, path, name, String(perWriter)], {
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          const timer = setTimeout(() => p.kill('SIGKILL'), 25_000);
          p.on('error', reject);
          p.on('exit', (code) => {
            clearTimeout(timer);
            resolve(code ?? -1);
          });
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0]);
    const result = await verifyAuditTrail(path);
    expect(result).toMatchObject({ ok: true, records: 3 * perWriter });
    const list = await records();
    for (const name of ['w1', 'w2', 'w3']) {
      const mine = list.filter((r) => r.targetId === `target-${name}`).map((r) => r.detail);
      // Every append of every writer is there, in that writer's order.
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => `${name}#${i}`));
    }
  });
});
