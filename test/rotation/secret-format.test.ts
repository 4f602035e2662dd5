import { describe, expect, it } from 'vitest';
import { decideRetry } from '../../src/rotation/retry-decision.js';
import type { RotationError } from '../../src/rotation/rotation-error.js';
import { Harness, INITIAL_PASSWORD, SECRET_ID, errorTexts, expectNoPasswords } from './harness.js';
import type { HarnessOptions } from './harness.js';

/** Secrets as users already keep them: adopted, never reshaped. */
const READABLE: { name: string; opts: HarnessOptions }[] = [
  {
    name: 'JSON without username and engine',
    opts: { seedText: JSON.stringify({ password: INITIAL_PASSWORD, host: 'https://es.example.com:9200' }) },
  },
  {
    name: 'JSON with numeric and nested fields',
    opts: {
      seedText:
        `{\n  "username": "elastic",\n  "password": ${JSON.stringify(INITIAL_PASSWORD)},\n  "port": 9200,\n` +
        '  "big": 12345678901234567890,\n  "ratio": 0.50,\n  "tls": {"verify": true, "ca": ["x", 2, null]},\n' +
        '  "enabled": false,\n  "engine": "elasticsearch"\n}',
    },
  },
  { name: 'plain text', opts: { secretFormat: 'text', seedText: INITIAL_PASSWORD } },
];

const RETRY = { attempts: 6, initialDelay: 30_000, maxDelay: 3_600_000 };

async function expectError(h: Harness): Promise<RotationError> {
  const o = await h.run();
  if (o.type !== 'error') throw new Error(`expected an error, got ${o.type}`);
  return o.error;
}

describe('rotate: adopting existing secrets', () => {
  it.each(READABLE)('rotates a secret seeded as $name, every other field unchanged', async ({ opts }) => {
    const h = new Harness(opts);
    const seed = opts.seedText!;
    const o = await h.run();
    expect(o.type).toBe('ok');
    h.checkDone();
    h.checkAlways();
    const current = h.store.peek(SECRET_ID, 'AWSCURRENT')!;
    expect(h.store.peek(SECRET_ID, 'AWSPREVIOUS')).toBe(seed);
    const password = h.cluster.eventualPassword();
    if (opts.secretFormat === 'text') {
      expect(current).toBe(password);
      return;
    }
    const before = JSON.parse(seed) as Record<string, unknown>;
    const after = JSON.parse(current) as Record<string, unknown>;
    expect(after.password).toBe(password);
    for (const [field, value] of Object.entries(before)) {
      if (field !== 'password') expect(after[field], field).toStrictEqual(value);
    }
    // Absent fields are added; present ones are kept whatever they say.
    expect(after.username).toBe(before.username ?? 'admin');
    expect(after.engine).toBe(before.engine ?? 'otc-css');
    // Nothing else is added: no targetId, region or host of our own into a user's document.
    expect(Object.keys(after).sort()).toEqual(
      [...new Set([...Object.keys(before), 'username', 'engine'])].sort(),
    );
    // The number's spelling survives (a JSON round trip would print 12345678901234567000 and 0.5).
    if ('big' in before) expect(current).toContain('"big": 12345678901234567890,\n  "ratio": 0.50,');
  });

  it('writes a new secret (no current version) in the rotator shape', async () => {
    const h = new Harness({ seedText: null });
    expect((await h.run()).type).toBe('ok');
    const text = h.store.peek(SECRET_ID, 'AWSCURRENT')!;
    const { config } = h.target;
    expect(text).toBe(
      JSON.stringify({
        username: 'admin',
        password: h.cluster.eventualPassword(),
        engine: 'otc-css',
        clusterId: config.clusterId,
        host: config.dataPlane!.url,
        projectId: config.projectId,
        region: config.region,
        targetId: config.id,
      }),
    );
  });
});

describe('rotate: the cluster says who its user is and whether it can be reset', () => {
  const noUser = JSON.stringify({ password: INITIAL_PASSWORD });

  it('fills the username from the cluster when the secret and the config have none', async () => {
    const h = new Harness({ seedText: noUser });
    h.cluster.facts = { managerUser: 'cdss-manager-7' };
    expect((await h.run()).type).toBe('ok');
    expect(JSON.parse(h.store.peek(SECRET_ID, 'AWSCURRENT')!)).toMatchObject({ username: 'cdss-manager-7' });
  });

  it('an explicit secret.username wins over the cluster; a username in the secret wins over both', async () => {
    const h = new Harness({ seedText: noUser, secretUsername: 'ops-admin' });
    h.cluster.facts = { managerUser: 'cdss-manager-7' };
    expect((await h.run()).type).toBe('ok');
    expect(JSON.parse(h.store.peek(SECRET_ID, 'AWSCURRENT')!)).toMatchObject({ username: 'ops-admin' });

    const kept = new Harness({
      seedText: JSON.stringify({ username: 'mine', password: INITIAL_PASSWORD }),
      secretUsername: 'ops-admin',
    });
    kept.cluster.facts = { managerUser: 'cdss-manager-7' };
    expect((await kept.run()).type).toBe('ok');
    expect(JSON.parse(kept.store.peek(SECRET_ID, 'AWSCURRENT')!)).toMatchObject({ username: 'mine' });
  });

  it('a cluster not in security mode stops with precondition before anything is staged', async () => {
    const h = new Harness();
    h.cluster.facts = { securityMode: false };
    const err = await expectError(h);
    expect(err).toMatchObject({ kind: 'precondition', step: 'stage', pendingMayBeApplied: false });
    expect(err.detail).toMatch(/cluster not in security mode/);
    expect(h.store.log).toEqual([]);
    expect(h.cluster.taken).toEqual([]);
    expect(h.cluster.calls.filter((c) => c.op === 'reset')).toEqual([]);
    const d = decideRetry({
      error: err,
      counters: { failures: 0, busyMs: 0 },
      retry: RETRY,
      busyBudget: 3_600_000,
      draw: 0.5,
    });
    expect(d.action).toBe('stop');
    expect(d.action === 'stop' && d.reason).not.toMatch(/pending/);
    h.checkAlways();
  });
});

describe('rotate: a secret that is not readable in its format', () => {
  const UNREADABLE: { name: string; opts: HarnessOptions; found: string; format: string }[] = [
    {
      name: 'text that is not JSON',
      opts: { seedText: `password=${INITIAL_PASSWORD}` },
      found: 'text that is not JSON',
      format: 'json',
    },
    {
      name: 'a JSON array',
      opts: { seedText: JSON.stringify([INITIAL_PASSWORD]) },
      found: 'a JSON array',
      format: 'json',
    },
    {
      name: 'a password that is not a string',
      opts: { seedText: JSON.stringify({ password: { value: INITIAL_PASSWORD } }) },
      found: 'a JSON object whose password is a JSON object',
      format: 'json',
    },
    {
      name: 'a JSON object where text is configured',
      opts: { secretFormat: 'text', seedText: JSON.stringify({ password: INITIAL_PASSWORD }) },
      found: 'a JSON object',
      format: 'text',
    },
  ];

  it.each(UNREADABLE)('$name: stops at once, names id, format and shape, never the content', async (c) => {
    const h = new Harness(c.opts);
    const err = await expectError(h);
    expect(err).toMatchObject({
      kind: 'secret-unreadable',
      step: 'stage',
      pendingMayBeApplied: false,
      storeStateKnown: true,
    });
    expect(err.message).toContain(SECRET_ID);
    expect(err.message).toContain(`not readable as ${c.format}: found ${c.found}`);
    expect(err.message).not.toMatch(/pending version/);
    // Nothing staged, nothing sent.
    expect(h.store.log).toEqual([]);
    expect(h.cluster.taken).toEqual([]);
    // No retry: the first failure stops, and the reason says nothing about a pending version.
    const d = decideRetry({
      error: err,
      counters: { failures: 0, busyMs: 0 },
      retry: RETRY,
      busyBudget: 3_600_000,
      draw: 0.5,
    });
    expect(d).toEqual({
      action: 'stop',
      alert: 'secret-unreadable',
      reason: 'secret-unreadable: needs a human',
    });
    // Neither the password nor any other part of the value is in the error or the events.
    expectNoPasswords([INITIAL_PASSWORD, c.opts.seedText!], { error: errorTexts(err), events: h.events });
    h.checkAlways();
  });

  it('a pending version of this rotation is still finished when the current one became unreadable', async () => {
    const h = new Harness({ loginCheck: false });
    h.cluster.script('reset', { kind: 'unknown-outcome', phase: 'after' });
    const first = await expectError(h);
    expect(first.pendingMayBeApplied).toBe(true);
    // Someone overwrites the current version with something the rotator cannot read.
    h.store.seed(SECRET_ID, '11111111-seed-0000-0000-000000000000', 'not json at all');
    const o = await h.run();
    expect(o.type).toBe('ok');
    expect(JSON.parse(h.store.peek(SECRET_ID, 'AWSCURRENT')!)).toMatchObject({
      password: h.cluster.eventualPassword(),
    });
    expect(h.store.peek(SECRET_ID, 'AWSPREVIOUS')).toBe('not json at all');
  });
});
