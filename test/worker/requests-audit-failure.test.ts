import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.js';
import { requestRotation, waitForRotation } from '../../src/client/index.js';
import { redisUrl } from '../support/redis.js';
import { type Harness, startHarness } from './harness.js';

/** The requests queue's own records: the trail throws on these (a full disk, a lost mount). */
const BROKEN_TYPES = new Set<AuditEvent['type']>(['request-refused', 'rotation-requested']);

let h: Harness;
const thrown: AuditEvent[] = [];
const connection = () => {
  const url = new URL(redisUrl());
  return { host: url.hostname, port: Number(url.port) };
};

beforeAll(async () => {
  h = await startHarness({
    clusters: [{ key: 'rqa-a' }],
    wrapComponents: (c) => {
      const inner = c.audit;
      c.audit = {
        append: async (event) => {
          if (BROKEN_TYPES.has(event.type)) {
            thrown.push(event);
            throw new Error('ENOSPC: no space left on device, write');
          }
          await inner.append(event);
        },
        close: () => inner.close(),
      };
      return c;
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('requests while the audit trail fails on their records', () => {
  it('a bad request is still refused with its reason, a good one still rotates; both failures are logged', async () => {
    const opts = { prefix: h.prefix, timeoutMs: 30_000, pollMs: 50 };
    const bad = await requestRotation(connection(), { targetId: 'nope', actor: 'bot' }, opts);
    const good = await requestRotation(connection(), { targetId: 'rqa-a', actor: 'bot' }, opts);
    expect(await waitForRotation(connection(), bad.requestId, opts)).toEqual({
      request: 'refused',
      reason: 'targetId: unknown target "nope"',
    });
    // the rotation audits itself as usual; only the request's own record is missing
    expect(await waitForRotation(connection(), good.requestId, opts)).toMatchObject({
      request: 'accepted',
      rotations: [{ targetId: 'rqa-a', outcome: 'succeeded' }],
    });
    expect(thrown.map((e) => [e.type, e.targetId]).sort()).toEqual([
      ['request-refused', 'nope'],
      ['rotation-requested', 'rqa-a'],
    ]);
    const logged = h.logs.join('');
    expect(logged).toContain('refused request could not be recorded in the audit trail');
    expect(logged).toContain('accepted request could not be recorded in the audit trail');
    expect(logged).not.toContain('queue worker error');
  });
});
