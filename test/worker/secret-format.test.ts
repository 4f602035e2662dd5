import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RotationOutcome, waitForRotations } from '../../src/queue/wait.js';
import { type Harness, startHarness } from './harness.js';

/**
 * Secrets as users already keep them, put in the store before the worker first rotates them:
 * adopted as they are (issue 11), or, when not readable in the configured format, one alert and
 * no retry.
 */
const SEED_TOKEN = 'seed-0000-0000-0000-000000000000-users';

let h: Harness;
let outcomes: Map<string, RotationOutcome>;
const seeds = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness({
    clusters: [
      { key: 'adopt-json' },
      { key: 'adopt-text', target: { secret: { id: 'h/adopt-text', format: 'text' } } },
      { key: 'unreadable', target: { retry: { attempts: 5, initialDelay: 50, maxDelay: 100 } } },
    ],
  });
  const initial = (key: string) => h.clusters.get(key)!.password;
  seeds.set(
    'adopt-json',
    `{\n  "password": ${JSON.stringify(initial('adopt-json'))},\n  "host": "https://search.example.com",\n` +
      '  "port": 9200,\n  "tls": { "verify": true, "ca": ["root-1", 2] },\n  "weight": 1.50\n}\n',
  );
  seeds.set('adopt-text', initial('adopt-text'));
  seeds.set('unreadable', JSON.stringify([initial('unreadable'), 'user: admin']));
  for (const [key, text] of seeds) {
    await h.components.store.stagePending(`h/${key}`, SEED_TOKEN, text);
    await h.components.store.promote(`h/${key}`, SEED_TOKEN);
  }
  const enqueued = await h.runtime.control.rotate({ targets: 'all', trigger: 'cli', actor: 'formats' });
  const list = await waitForRotations(h.runtime.queues.rotations, enqueued, {
    timeoutMs: 60_000,
    pollMs: 100,
  });
  outcomes = new Map(list.map((o) => [o.targetId, o]));
  await h.components.flushAlerts(5_000);
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('adopting the secrets users already have', () => {
  it('a JSON secret keeps every other field, with its type and spelling', async () => {
    expect(outcomes.get('adopt-json')?.outcome).toBe('succeeded');
    const cluster = h.clusters.get('adopt-json')!;
    const current = (await h.components.store.getCurrent('h/adopt-json'))!.text;
    const seed = seeds.get('adopt-json')!;
    const before = JSON.parse(seed) as Record<string, unknown>;
    const after = JSON.parse(current) as Record<string, unknown>;
    expect(after.password).toBe(cluster.password);
    for (const [field, value] of Object.entries(before)) {
      if (field !== 'password') expect(after[field], field).toStrictEqual(value);
    }
    // The config names the username (secret.username); the provider id is the engine.
    expect(after).toMatchObject({ username: cluster.username, engine: 'otc-css' });
    expect(current).toContain('"weight": 1.50');
    expect((await h.components.store.getPrevious('h/adopt-json'))?.text).toBe(seed);
    expect(h.alerts.filter((a) => a.targetId === 'adopt-json')).toEqual([]);
  });

  it('a plain-text secret stays a bare password', async () => {
    expect(outcomes.get('adopt-text')?.outcome).toBe('succeeded');
    const cluster = h.clusters.get('adopt-text')!;
    expect(cluster.password).not.toBe(seeds.get('adopt-text'));
    expect((await h.components.store.getCurrent('h/adopt-text'))?.text).toBe(cluster.password);
  });

  it('an unreadable secret: one alert naming id, format and shape, no retry, no content anywhere', async () => {
    const outcome = outcomes.get('unreadable')!;
    expect(outcome.outcome).toBe('failed');
    const job = await h.runtime.queues.rotations.getJob(outcome.jobId);
    expect(job?.data.attempt).toBe(1);
    const alerts = h.alerts.filter((a) => a.targetId === 'unreadable');
    expect(alerts.map((a) => a.reason)).toEqual(['secret-unreadable']);
    const alert = alerts[0]!;
    expect(alert.severity).toBe('critical');
    expect(alert.details).toMatchObject({ kind: 'secret-unreadable', secretId: 'h/unreadable' });
    expect(alert.details?.detail).toContain('not readable as json: found a JSON array');
    const text = JSON.stringify(alert);
    expect(text).not.toMatch(/pending version/);
    expect(text).not.toMatch(/after its retries/);
    const cluster = h.clusters.get('unreadable')!;
    // Untouched: the cluster kept its password and the store its value.
    expect(cluster.history).toHaveLength(1);
    expect((await h.components.store.getCurrent('h/unreadable'))?.text).toBe(seeds.get('unreadable'));
    expect(await h.components.store.getPending('h/unreadable')).toBeUndefined();
    // Neither the password nor any other part of the value reached an alert or a log line.
    const everything = JSON.stringify(h.alerts) + h.logs.join('\n');
    for (const part of [cluster.password, 'user: admin', seeds.get('unreadable')!]) {
      expect(everything).not.toContain(part);
    }
  });
});
