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

describe('rotator audit verify with audit.key (keyed chain)', () => {
  const KEY = 'audit-hmac-key-4b9e1f0a7c2d3e5f60718293a4b5c6d7';
  let keyedPath: string;
  let keyedConfig: string;

  /** A config whose audit trail is `path`, keyed with the key in `keyFile`. */
  async function keyedConfigFor(path: string, keyFile: string): Promise<string> {
    const file = join(dir, `keyed-${Math.random().toString(36).slice(2)}.yaml`);
    const plain = await readFile(configFile, 'utf8');
    await writeFile(
      file,
      plain.replace(
        `audit: { path: ${JSON.stringify(trailPath)} }`,
        `audit: { path: ${JSON.stringify(path)}, key: { file: ${JSON.stringify(keyFile)} } }`,
      ),
    );
    return file;
  }

  async function keyedLines(): Promise<string[]> {
    return (await readFile(keyedPath, 'utf8')).split('\n').filter((l) => l !== '');
  }

  /** The trail rewritten from scratch by someone without the key: a changed record, a fresh chain. */
  async function rewriteWithoutKey(list: string[], key?: Buffer): Promise<string[]> {
    const { buildRecordLine, AUDIT_GENESIS_HASH } = await import('../../src/audit/record.js');
    let prev = AUDIT_GENESIS_HASH;
    return list.map((line, i) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const { hash: _h, prevHash: _p, seq: _s, mac: _m, ts, ...event } = parsed;
      if (i === 2) event.actor = 'someone-else';
      const built = buildRecordLine(event as never, ts as string, i + 1, prev, key);
      prev = built.record.hash;
      return built.line.trimEnd();
    });
  }

  beforeEach(async () => {
    const keyFile = join(dir, 'audit.key');
    await writeFile(keyFile, `${KEY}\n`);
    keyedPath = join(dir, 'data', 'keyed.jsonl');
    keyedConfig = await keyedConfigFor(keyedPath, keyFile);
    const trail = await openFileAuditTrail({ path: keyedPath, key: Buffer.from(KEY) });
    for (const event of mixedRun().events) await trail.append(event);
    await trail.close();
  });

  it('verifies a keyed trail with the key, and refuses to call it intact without the key', async () => {
    const list = await keyedLines();
    expect(list.every((l) => l.includes('"mac":"hmac-sha256"'))).toBe(true);
    const ok = await runCli(['audit', 'verify', '--config', keyedConfig]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`intact: ${list.length} record(s)`);
    expect(ok.stdout).toContain('HMAC-keyed from seq 1');
    // --file with --config: the file named, the key from the config.
    expect((await runCli(['audit', 'verify', '--file', keyedPath, '--config', keyedConfig])).code).toBe(0);

    const noKey = await runCli(['audit', 'verify', '--file', keyedPath]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('BROKEN at line 1 (expected seq 1): key-required');
    // The key is never printed.
    for (const r of [ok, noKey]) expect(r.stdout + r.stderr).not.toContain(KEY);
  });

  it('a trail rewritten from scratch without the key fails, though its plain chain is consistent', async () => {
    const list = await keyedLines();
    const plainForgery = await rewriteWithoutKey(list);
    await writeFile(keyedPath, `${plainForgery.join('\n')}\n`);
    // Without the key this is exactly what an intact unkeyed trail looks like...
    expect((await runCli(['audit', 'verify', '--file', keyedPath])).code).toBe(0);
    // ...with it, nothing in the trail proves it was written with the key.
    const caught = await runCli(['audit', 'verify', '--config', keyedConfig]);
    expect(caught.code).toBe(1);
    expect(caught.stderr).toContain('BROKEN at line 1 (expected seq 1): unkeyed: no record carries an HMAC');
    expect(caught.stderr).toContain('0 record(s) before it are intact');

    // Keyed records forged with a guessed key fail at the first one.
    const guessed = await rewriteWithoutKey(list, Buffer.from('a-guessed-key-that-is-long-enough'));
    await writeFile(keyedPath, `${guessed.join('\n')}\n`);
    const wrongKey = await runCli(['audit', 'verify', '--config', keyedConfig]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain(
      'BROKEN at line 1 (expected seq 1): hash-mismatch: record seq 1 does not match its HMAC',
    );
  });

  it('an edited record fails its HMAC; records appended without the key after keyed ones are caught', async () => {
    const list = await keyedLines();
    const edited = [...list];
    edited[4] = edited[4]!.replace('"attempt":', '"attempt":1');
    expect(edited[4]).not.toBe(list[4]);
    await writeFile(keyedPath, `${edited.join('\n')}\n`);
    const out = await runCli(['audit', 'verify', '--config', keyedConfig]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('BROKEN at line 5 (expected seq 5): hash-mismatch');

    // Keep the genuine first half, then continue the chain without the key.
    await writeFile(keyedPath, `${list.slice(0, 6).join('\n')}\n`);
    const plain = await openFileAuditTrail({ path: keyedPath });
    await plain.append(mixedRun().events[0]!);
    await plain.close();
    const tail = await runCli(['audit', 'verify', '--config', keyedConfig]);
    expect(tail.code).toBe(1);
    expect(tail.stderr).toContain(
      'BROKEN at line 7 (expected seq 7): unkeyed: record seq 7 has no HMAC after keyed records',
    );
  });

  it('a trail started without a key and continued with one verifies, keyed from the first keyed record', async () => {
    const before = (await lines()).length;
    const keyFile = join(dir, 'audit.key');
    const migrated = await keyedConfigFor(trailPath, keyFile);
    const trail = await openFileAuditTrail({ path: trailPath, key: Buffer.from(KEY) });
    await trail.append(mixedRun().events[0]!);
    await trail.close();
    const out = await runCli(['audit', 'verify', '--config', migrated]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain(`intact: ${before + 1} record(s)`);
    expect(out.stdout).toContain(`HMAC-keyed from seq ${before + 1}`);
    // The unkeyed part is covered too: its last record is chained into the first keyed one.
    const list = await lines();
    list[before - 1] = list[before - 1]!.replace('"attempt":', '"attempt":1');
    await writeLines(list);
    expect((await runCli(['audit', 'verify', '--config', migrated])).code).toBe(1);
  });

  it('a key shorter than 16 bytes is a config error naming audit.key, never the value', async () => {
    const shortFile = join(dir, 'short.key');
    await writeFile(shortFile, 'short-key-x\n');
    const config = await keyedConfigFor(keyedPath, shortFile);
    const out = await runCli(['audit', 'verify', '--config', config]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('audit.key: must be at least 16 bytes, got 11');
    expect(out.stderr).not.toContain('short-key-x');
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
