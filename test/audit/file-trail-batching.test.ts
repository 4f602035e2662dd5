import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file-trail.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-audit-batch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const event = (i: number): AuditEvent => ({
  type: 'step',
  rotationId: `r-${i}`,
  targetId: `t-${i % 7}`,
  provider: 'otc-css',
  trigger: 'cli',
  actor: 'bench',
  attempt: 1,
  step: 'stage',
  outcome: 'ok',
});

describe('file audit trail: appends in flight together', () => {
  it('writes 300 concurrent appends as one valid chain, in call order, each resolving with its own record', async () => {
    const path = join(dir, 'audit.jsonl');
    const trail = await openFileAuditTrail({ path });
    await trail.append(event(-1));
    const records = await Promise.all(Array.from({ length: 300 }, (_, i) => trail.appendRecord(event(i))));
    await trail.close();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    expect(records.map((r) => r.rotationId)).toEqual(Array.from({ length: 300 }, (_, i) => `r-${i}`));
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(301);
    expect(lines.slice(1).map((l) => (JSON.parse(l) as { hash: string }).hash)).toEqual(
      records.map((r) => r.hash),
    );
    expect((await verifyAuditTrail(path)).ok).toBe(true);
  });
});
