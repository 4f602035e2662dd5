import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file-trail.js';
import { runCli, writeConfig } from './cli-helpers.js';
import { csvRecords } from './csv.js';
import { mixedRun } from './mixed-run.js';

let dir: string;
let trailPath: string;
let configFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  trailPath = join(dir, 'data', 'audit.jsonl');
  configFile = await writeConfig(dir, trailPath);
  const run = mixedRun();
  const trail = await openFileAuditTrail({ path: trailPath });
  for (const event of run.events) await trail.append(event);
  await trail.close();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<string[]> {
  return (await readFile(trailPath, 'utf8')).split('\n').filter((l) => l !== '');
}

async function writeLines(list: string[]): Promise<void> {
  await writeFile(trailPath, `${list.join('\n')}\n`);
}

describe('rotator audit', () => {
  it('lists exactly the rotations of a mixed run with their outcomes, as CSV', async () => {
    const { expected } = mixedRun();
    const out = await runCli(['audit', '--format', 'csv', '--config', configFile]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const rows = csvRecords(out.stdout);
    expect(rows.map((r) => r.rotationId)).toEqual(expected.map((e) => e.rotationId));
    for (const e of expected) {
      const row = rows.find((r) => r.rotationId === e.rotationId)!;
      expect(row.targetId).toBe(e.targetId);
      expect(row.provider).toBe(e.provider);
      expect(row.outcome).toBe(e.outcome);
      expect(Number(row.attempts)).toBe(e.attempts);
      expect(row.httpStatuses).toBe(e.httpStatuses.join(';'));
      expect(row.endedAt).not.toBe('');
    }
    const busy = rows.find((r) => r.rotationId === 'rot-b')!;
    expect(busy.actor).toBe('ops, on-call');
    expect(busy.trigger).toBe('cli');
    expect(busy.vendorCodes).toBe('CSS.0011');
    expect(busy.requestIds).toBe('hw-req-busy-1;hw-req-busy-2;hw-req-ok');
    expect(busy.versionIds).toBe('v-b');
    expect(busy.errorKind).toBe('');
    const precondition = rows.find((r) => r.rotationId === 'rot-c')!;
    expect(precondition.errorKind).toBe('precondition');
    expect(precondition.vendorCodes).toBe('CSS.0015');
    expect(precondition.trigger).toBe('api');
    // The quoted field survives as one field, quoted on the wire.
    expect(out.stdout).toContain('"ops, on-call"');
  });

  it('filters by target and time, and prints JSON', async () => {
    const byTarget = await runCli([
      'audit',
      '--format',
      'json',
      '--target',
      'css-logs',
      '--config',
      configFile,
    ]);
    expect(byTarget.code).toBe(0);
    const list = JSON.parse(byTarget.stdout) as { rotationId: string; outcome: string }[];
    expect(list.map((r) => r.rotationId)).toEqual(['rot-b']);

    const recent = await runCli(['audit', '--format', 'json', '--since', '1h', '--config', configFile]);
    expect((JSON.parse(recent.stdout) as unknown[]).length).toBe(4);
    const future = await runCli(['audit', '--format', 'json', '--since', '2999-01-01', '--file', trailPath]);
    expect(JSON.parse(future.stdout)).toEqual([]);
    const past = await runCli([
      'audit',
      '--format',
      'json',
      '--until',
      '2000-01-01T00:00:00Z',
      '--file',
      trailPath,
    ]);
    expect(JSON.parse(past.stdout)).toEqual([]);
  });

  it('prints a table and rejects a malformed time naming the option', async () => {
    const table = await runCli(['audit', '--file', trailPath]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^STARTED\s+ENDED\s+TARGET/);
    expect(table.stdout).toMatch(/otc-search\s+otc-css\s+api:api\s+1\s+failed \(precondition\)\s+412/);

    const bad = await runCli(['audit', '--since', 'last tuesday', '--file', trailPath]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since: invalid time 'last tuesday'");
  });
});

describe('rotator audit verify', () => {
  it('reports an intact trail with exit 0', async () => {
    const n = (await lines()).length;
    const out = await runCli(['audit', 'verify', '--config', configFile]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`intact: ${n} record(s), last seq ${n}`);
  });

  it('reports an edited line', async () => {
    const list = await lines();
    list[9] = list[9]!.replace('"httpStatus":409', '"httpStatus":200');
    expect(list[9]).toContain('"httpStatus":200');
    await writeLines(list);
    const out = await runCli(['audit', 'verify', '--file', trailPath]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('BROKEN at line 10 (expected seq 10): hash-mismatch');
  });

  it('reports an edited line whose hash was recomputed, at the next record', async () => {
    const { hashRecord } = await import('../../src/audit/record.js');
    const list = await lines();
    const rec = JSON.parse(list[4]!) as Record<string, unknown>;
    rec.actor = 'someone-else';
    rec.hash = hashRecord(rec as never);
    list[4] = JSON.stringify(rec);
    await writeLines(list);
    const out = await runCli(['audit', 'verify', '--file', trailPath]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('BROKEN at line 6 (expected seq 6): broken-chain');
  });

  it('reports a deleted line', async () => {
    const list = await lines();
    list.splice(6, 1);
    await writeLines(list);
    const out = await runCli(['audit', 'verify', '--config', configFile]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      'BROKEN at line 7 (expected seq 7, found seq 8): seq-gap: record seq 7 is missing',
    );
  });

  it('reports two lines swapped', async () => {
    const list = await lines();
    [list[11], list[12]] = [list[12]!, list[11]!];
    await writeLines(list);
    const out = await runCli(['audit', 'verify', '--file', trailPath]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('BROKEN at line 12 (expected seq 12, found seq 13): seq-reorder');
  });

  it('with the anchor an earlier verify printed: intact, then a cut tail and a rewritten chain are caught', async () => {
    const first = await runCli(['audit', 'verify', '--file', trailPath]);
    const anchor = /anchor for a later check \(keep it outside this host\): (\d+:[0-9a-f]{64})/.exec(
      first.stdout,
    )?.[1];
    expect(anchor).toBeDefined();
    const again = await runCli(['audit', 'verify', '--file', trailPath, '--anchor', anchor!]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`holds anchor seq ${anchor!.split(':')[0]}`);

    // Cut the last three records: the chain of what is left is intact, only the anchor shows it.
    const list = await lines();
    await writeLines(list.slice(0, -3));
    expect((await runCli(['audit', 'verify', '--file', trailPath])).code).toBe(0);
    const cut = await runCli(['audit', 'verify', '--file', trailPath, '--anchor', anchor!]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(
      `truncated: the trail ends at seq ${list.length - 3}, but the anchor names seq ${list.length}`,
    );

    // Rewrite the whole chain with a changed record and fresh hashes: intact alone, caught by the anchor.
    const { buildRecordLine, AUDIT_GENESIS_HASH } = await import('../../src/audit/record.js');
    let prev = AUDIT_GENESIS_HASH;
    const forged = list.map((line, i) => {
      const { hash: _h, prevHash: _p, seq: _s, ts, ...event } = JSON.parse(line) as Record<string, unknown>;
      if (i === 2) event.actor = 'someone-else';
      const built = buildRecordLine(event as never, ts as string, i + 1, prev);
      prev = built.record.hash;
      return built.line.trimEnd();
    });
    await writeLines(forged);
    expect((await runCli(['audit', 'verify', '--file', trailPath])).code).toBe(0);
    const rewritten = await runCli(['audit', 'verify', '--file', trailPath, '--anchor', anchor!]);
    expect(rewritten.code).toBe(1);
    expect(rewritten.stderr).toContain('anchor-mismatch');

    const bad = await runCli(['audit', 'verify', '--file', trailPath, '--anchor', '12:abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--anchor must be <seq>:<64 hex digits>');
  });

  it('reports a line that is not JSON, and a missing file', async () => {
    const list = await lines();
    list[2] = list[2]!.slice(0, 20);
    await writeLines(list);
    const out = await runCli(['audit', 'verify', '--file', trailPath]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('BROKEN at line 3 (expected seq 3): bad-json');

    const missing = await runCli(['audit', 'verify', '--file', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('file not found');
  });
});

describe('rotator audit verify --json', () => {
  it('prints the intact trail, its head and the anchor it holds as JSON', async () => {
    const n = (await lines()).length;
    const first = await runCli(['audit', 'verify', '--file', trailPath, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as {
      ok: boolean;
      file: string;
      records: number;
      lastSeq: number;
      lastHash: string;
    };
    expect(out).toMatchObject({ ok: true, file: trailPath, records: n, lastSeq: n });
    expect(out.lastHash).toMatch(/^[0-9a-f]{64}$/);
    const anchored = await runCli([
      'audit',
      'verify',
      '--file',
      trailPath,
      '--json',
      '--anchor',
      `${n}:${out.lastHash}`,
    ]);
    expect(anchored.code).toBe(0);
    expect(JSON.parse(anchored.stdout)).toMatchObject({ ok: true, anchor: { seq: n, hash: out.lastHash } });
  });

  it('prints a broken trail with its first problem, and a missing file, as JSON with exit 1', async () => {
    const list = await lines();
    list.splice(6, 1);
    await writeLines(list);
    const broken = await runCli(['audit', 'verify', '--config', configFile, '--json']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('');
    expect(JSON.parse(broken.stdout)).toEqual({
      ok: false,
      file: trailPath,
      records: 6,
      problem: {
        line: 7,
        expectedSeq: 7,
        seq: 8,
        kind: 'seq-gap',
        message: 'record seq 7 is missing (found seq 8)',
      },
    });

    const missing = await runCli(['audit', 'verify', '--file', join(dir, 'nope.jsonl'), '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('');
    const out = JSON.parse(missing.stdout) as { ok: boolean; error: string };
    expect(out.ok).toBe(false);
    expect(out.error).toContain('file not found');
  });
});
