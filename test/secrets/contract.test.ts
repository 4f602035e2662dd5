import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/secrets/index.js';
import { SecretFormatError, nextSecretText, readSecret } from '../../src/secrets/format.js';
import type { SecretFormat } from '../../src/config/secret-formats.js';
import { MAX_SECRET_TEXT } from '../../src/secrets/value.js';
import {
  CURRENT_CHANGED,
  PENDING_LOST,
  PENDING_TAKEN,
  SecretStoreError,
  type SecretStore,
} from '../../src/secrets/types.js';
import {
  startSecretsManagerEndpoint,
  type SecretsManagerEndpoint,
} from '../support/secrets-manager/endpoint.js';
import { MemoryStore } from '../support/memory-store.js';
import { collectErrorText } from './support.js';

/**
 * One contract, every store: the file store, the AWS store on the loopback Secrets Manager
 * endpoint, and the AWS store on LocalStack or real AWS when SECRETS_MANAGER_ENDPOINT is set.
 */
interface Harness {
  name: string;
  setup(): Promise<void>;
  store(): SecretStore;
  teardown(): Promise<void>;
}

function fileHarness(): Harness {
  let dir = '';
  let store: SecretStore | undefined;
  return {
    name: 'file store',
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'rotator-contract-'));
      store = createStore({ type: 'file', path: join(dir, 'secrets.enc') });
    },
    store: () => store!,
    async teardown() {
      await store?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The in-memory store the rotation tests use: it must keep the same contract to be a fair stand-in. */
function memoryHarness(): Harness {
  let store: SecretStore | undefined;
  return {
    name: 'in-memory test store (test/support/memory-store.ts)',
    async setup() {
      store = new MemoryStore();
    },
    store: () => store!,
    async teardown() {
      await store?.close();
    },
  };
}

function endpointHarness(): Harness {
  let sm: SecretsManagerEndpoint | undefined;
  let store: SecretStore | undefined;
  return {
    name: 'aws-secrets-manager store on the loopback Secrets Manager endpoint',
    async setup() {
      sm = await startSecretsManagerEndpoint();
      store = createStore(
        { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: true },
        { awsClientConfig: sm.clientConfig() },
      );
    },
    store: () => store!,
    async teardown() {
      await store?.close();
      await sm?.close();
    },
  };
}

const created: string[] = [];

function externalHarness(endpoint: string): Harness {
  let store: SecretStore | undefined;
  return {
    name: `aws-secrets-manager store on SECRETS_MANAGER_ENDPOINT (${endpoint})`,
    async setup() {
      store = createStore({
        type: 'aws-secrets-manager',
        region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        endpoint,
        create: true,
      });
    },
    store: () => store!,
    async teardown() {
      const s = store as (SecretStore & { client?: { send(c: unknown): Promise<unknown> } }) | undefined;
      for (const id of created) {
        await s?.client
          ?.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }))
          .catch(() => undefined);
      }
      await store?.close();
    },
  };
}

const harnesses: Harness[] = [fileHarness(), endpointHarness(), memoryHarness()];
const external = process.env.SECRETS_MANAGER_ENDPOINT;
// Included only when SECRETS_MANAGER_ENDPOINT is set (LocalStack or real AWS; credentials from the SDK chain).
if (external) harnesses.push(externalHarness(external));

const token = () => randomUUID();
function secretId(): string {
  const id = `rotator-test/contract-${randomUUID().slice(0, 13)}`;
  created.push(id);
  return id;
}
function value(password: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ username: 'admin', password, engine: 'otc-css', ...extra });
}
const pw = () => `Pw-${randomUUID()}`;

/** Secrets as users already keep them (issue 11): the stores keep each byte for byte. */
const SEEDED_SHAPES: { name: string; format: SecretFormat; text: string; found?: string }[] = [
  {
    name: 'JSON without username and engine',
    format: 'json',
    text: '{"password":"Seed-pw-1a","host":"https://es.example.com:9200"}',
  },
  {
    name: 'JSON with numeric and nested fields',
    format: 'json',
    text:
      '{\n  "username": "elastic",\n  "password": "Seed-pw-2b",\n  "port": 9200,\n' +
      '  "big": 12345678901234567890,\n  "ratio": 0.50,\n  "tls": {"verify": true, "ca": ["a", 1, null]},\n' +
      '  "enabled": false\n}',
  },
  { name: 'plain text', format: 'text', text: 'Seed-plain-pw-3c' },
  {
    name: 'text that is not JSON (json format)',
    format: 'json',
    text: 'Seed-not-json-4d',
    found: 'text that is not JSON',
  },
  { name: 'a JSON array (json format)', format: 'json', text: '["Seed-array-5e"]', found: 'a JSON array' },
  {
    name: 'a JSON object (text format)',
    format: 'text',
    text: '{"password":"Seed-obj-6f"}',
    found: 'a JSON object (secret.format: json adopts it)',
  },
];

async function expectStoreError(
  p: Promise<unknown>,
  kind: SecretStoreError['kind'],
): Promise<SecretStoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a SecretStoreError '${kind}'`).toBeInstanceOf(SecretStoreError);
  expect((err as SecretStoreError).kind).toBe(kind);
  return err as SecretStoreError;
}

describe.each(harnesses)('SecretStore contract: $name', (h) => {
  beforeAll(() => h.setup(), 30_000);
  afterAll(() => h.teardown(), 30_000);

  it('answers undefined for a secret that does not exist, and not-found where it must act', async () => {
    const store = h.store();
    const id = secretId();
    const t = token();
    expect(await store.getCurrent(id)).toBeUndefined();
    expect(await store.getPending(id)).toBeUndefined();
    expect(await store.getPrevious(id)).toBeUndefined();
    expect(await store.getVersion(id, t)).toBeUndefined();
    expect(await store.describe(id)).toBeUndefined();
    const e1 = await expectStoreError(store.promote(id, t), 'not-found');
    expect(e1.message).toContain(id);
    await expectStoreError(store.dropPending(id, t), 'not-found');
  });

  it('stages a pending version without touching current, then promotes it', async () => {
    const store = h.store();
    const id = secretId();
    const v1 = token();
    const val = value(pw(), { host: 'css-1.example.com' });
    expect(await store.stagePending(id, v1, val)).toEqual({ created: true });
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: val });
    expect(await store.getVersion(id, v1)).toEqual({ versionId: v1, text: val });
    expect(await store.getCurrent(id)).toBeUndefined();
    expect((await store.describe(id))?.map((v) => [v.versionId, v.stages])).toEqual([[v1, ['AWSPENDING']]]);

    await store.promote(id, v1);
    expect(await store.getCurrent(id)).toEqual({ versionId: v1, text: val });
    expect(await store.getPending(id)).toBeUndefined();
    expect(await store.getPrevious(id)).toBeUndefined();
    expect((await store.describe(id))?.map((v) => [v.versionId, v.stages])).toEqual([[v1, ['AWSCURRENT']]]);
  });

  it('keeps the old current as previous, and moves previous along on the next rotation', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2, v3] = [token(), token(), token()];
    const [a, b, c] = [value(pw()), value(pw()), value(pw())];
    await store.stagePending(id, v1, a);
    await store.promote(id, v1);
    await store.stagePending(id, v2, b);
    expect(await store.getCurrent(id)).toEqual({ versionId: v1, text: a });
    await store.promote(id, v2);
    expect(await store.getCurrent(id)).toEqual({ versionId: v2, text: b });
    expect(await store.getPrevious(id)).toEqual({ versionId: v1, text: a });
    await store.stagePending(id, v3, c);
    await store.promote(id, v3);
    expect(await store.getCurrent(id)).toEqual({ versionId: v3, text: c });
    expect(await store.getPrevious(id)).toEqual({ versionId: v2, text: b });
    const stages = new Map((await store.describe(id))!.map((v) => [v.versionId, [...v.stages].sort()]));
    expect(stages).toEqual(
      new Map([
        [v3, ['AWSCURRENT']],
        [v2, ['AWSPREVIOUS']],
        [v1, []],
      ]),
    );
    // The old version stays readable by id.
    expect(await store.getVersion(id, v1)).toEqual({ versionId: v1, text: a });
  });

  it('describe lists every version newest first', async () => {
    const store = h.store();
    const id = secretId();
    const ids = [token(), token(), token()];
    for (const v of ids) {
      await store.stagePending(id, v, value(pw()));
      await store.promote(id, v);
      await new Promise((r) => setTimeout(r, 15));
    }
    const described = (await store.describe(id))!;
    expect(described.map((v) => v.versionId)).toEqual([...ids].reverse());
    for (const v of described) expect(v.createdAt).toBeInstanceOf(Date);
  });

  it('is idempotent for the same token and text, and does not add a version', async () => {
    const store = h.store();
    const id = secretId();
    const v1 = token();
    const password = pw();
    const val = value(password);
    expect(await store.stagePending(id, v1, val)).toEqual({ created: true });
    expect(await store.stagePending(id, v1, `${val}`)).toEqual({ created: false });
    expect(await store.describe(id)).toHaveLength(1);
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: val });
    // The text is compared byte for byte, as AWS does: the same fields in another order differ.
    const reordered = JSON.stringify({ engine: 'otc-css', password, username: 'admin' });
    await expectStoreError(store.stagePending(id, v1, reordered), 'conflict');
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: val });
  });

  it('refuses the same token with another value (conflict) and keeps the first value', async () => {
    const store = h.store();
    const id = secretId();
    const v1 = token();
    const first = value(pw());
    const second = value(pw());
    await store.stagePending(id, v1, first);
    const err = await expectStoreError(store.stagePending(id, v1, second), 'conflict');
    expect(err.message).toContain(id);
    expect(err.message).toContain(v1);
    const text = collectErrorText(err);
    for (const v of [first, second]) expect(text).not.toContain(readSecret(v, 'json').password);
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: first });
  });

  it('moves the pending label when another token is staged', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2] = [token(), token()];
    await store.stagePending(id, v1, value(pw()));
    const b = value(pw());
    await store.stagePending(id, v2, b);
    expect(await store.getPending(id)).toEqual({ versionId: v2, text: b });
    const stages = new Map((await store.describe(id))!.map((v) => [v.versionId, v.stages]));
    expect(stages.get(v1)).toEqual([]);
    expect(stages.get(v2)).toEqual(['AWSPENDING']);
  });

  it('promote is idempotent', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2] = [token(), token()];
    const [a, b] = [value(pw()), value(pw())];
    await store.stagePending(id, v1, a);
    await store.promote(id, v1);
    await store.stagePending(id, v2, b);
    await store.promote(id, v2);
    await store.promote(id, v2);
    expect(await store.getCurrent(id)).toEqual({ versionId: v2, text: b });
    expect(await store.getPrevious(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getPending(id)).toBeUndefined();
  });

  it('dropPending removes the label only, keeps current, and is idempotent', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2, v3] = [token(), token(), token()];
    const [a, b, c] = [value(pw()), value(pw()), value(pw())];
    await store.stagePending(id, v1, a);
    await store.promote(id, v1);
    await store.stagePending(id, v2, b);
    await store.dropPending(id, v2);
    await store.dropPending(id, v2);
    expect(await store.getPending(id)).toBeUndefined();
    expect(await store.getCurrent(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getVersion(id, v2)).toEqual({ versionId: v2, text: b });
    // Re-staging the dropped token with its value is the documented no-op: it stays dropped.
    expect(await store.stagePending(id, v2, b)).toEqual({ created: false });
    expect(await store.getPending(id)).toBeUndefined();
    await store.stagePending(id, v3, c);
    await store.promote(id, v3);
    expect(await store.getCurrent(id)).toEqual({ versionId: v3, text: c });
    expect(await store.getPrevious(id)).toEqual({ versionId: v1, text: a });
    await expectStoreError(store.dropPending(id, token()), 'not-found');
  });

  it('a first password that was dropped never becomes current or previous', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2] = [token(), token()];
    const [rejected, accepted] = [value(pw()), value(pw())];
    await store.stagePending(id, v1, rejected);
    await store.dropPending(id, v1);
    expect(await store.getCurrent(id)).toBeUndefined();
    expect(await store.getPending(id)).toBeUndefined();
    expect((await store.describe(id))?.map((v) => [v.versionId, v.stages])).toEqual([[v1, []]]);
    await store.stagePending(id, v2, accepted);
    expect(await store.getCurrent(id)).toBeUndefined();
    await store.promote(id, v2);
    expect(await store.getCurrent(id)).toEqual({ versionId: v2, text: accepted });
    expect(await store.getPrevious(id)).toBeUndefined();
    const stages = new Map((await store.describe(id))!.map((v) => [v.versionId, v.stages]));
    expect(stages.get(v1)).toEqual([]);
    expect(stages.get(v2)).toEqual(['AWSCURRENT']);
  });

  it('round-trips texts exactly: unicode, quotes, backslashes, control characters, extra fields', async () => {
    const store = h.store();
    const id = secretId();
    const v1 = token();
    const password = `ä€漢🔐"'\\/<>&%$\`{}[]:;,\n\t ${pw()}`;
    const val = value(password, {
      host: 'https://css.eu-de.otc.t-systems.com:9200/päth?q="x"',
      clusterId: '6c8f-🙂',
      empty: '',
    });
    await store.stagePending(id, v1, val);
    await store.promote(id, v1);
    const got = await store.getCurrent(id);
    expect(got).toEqual({ versionId: v1, text: val });
    expect(readSecret(got!.text, 'json').password).toBe(password);
  });

  it('rejects bad input with a clear error that names what is wrong and never the value', async () => {
    const store = h.store();
    const id = secretId();
    const secret = pw();
    const short = await expectStoreError(store.stagePending(id, 'too-short', value(secret)), 'invalid');
    expect(short.message).toMatch(/32-64/);
    const empty = await expectStoreError(store.stagePending(id, token(), ''), 'invalid');
    expect(empty.message).toMatch(/non-empty string/);
    const notText = await expectStoreError(
      store.stagePending(id, token(), { password: secret } as unknown as string),
      'invalid',
    );
    expect(notText.message).toMatch(/non-empty string/);
    const long = await expectStoreError(
      store.stagePending(id, token(), secret.repeat(MAX_SECRET_TEXT)),
      'invalid',
    );
    expect(long.message).toContain(String(MAX_SECRET_TEXT));
    for (const e of [short, empty, notText, long]) expect(collectErrorText(e)).not.toContain(secret);
    await expectStoreError(store.getCurrent('bad id with spaces'), 'invalid');
    expect(await store.describe(id)).toBeUndefined();
  });

  it.each(SEEDED_SHAPES)(
    'keeps a secret seeded as $name byte for byte, and a rotated version of it',
    async (shape) => {
      const store = h.store();
      const id = secretId();
      const [seed, next] = [token(), token()];
      await store.stagePending(id, seed, shape.text);
      await store.promote(id, seed);
      expect(await store.getCurrent(id)).toEqual({ versionId: seed, text: shape.text });
      if (shape.found !== undefined) {
        // The store keeps any text; reading it in the configured format is what fails.
        expect(() => readSecret(shape.text, shape.format)).toThrow(SecretFormatError);
        try {
          readSecret(shape.text, shape.format);
        } catch (err) {
          expect((err as SecretFormatError).found).toBe(shape.found);
        }
        return;
      }
      const password = pw();
      const defaults = { username: 'admin', engine: 'otc-css' };
      const text = nextSecretText(shape.format, readSecret(shape.text, shape.format), password, defaults);
      expect(await store.stagePending(id, next, text)).toEqual({ created: true });
      // The same input gives the same bytes: re-staging the token is the documented no-op.
      const again = nextSecretText(shape.format, readSecret(shape.text, shape.format), password, defaults);
      expect(await store.stagePending(id, next, again)).toEqual({ created: false });
      await store.promote(id, next);
      expect(await store.getCurrent(id)).toEqual({ versionId: next, text });
      expect(await store.getPrevious(id)).toEqual({ versionId: seed, text: shape.text });
      expect(readSecret(text, shape.format).password).toBe(password);
      if (shape.format === 'json') {
        const before = JSON.parse(shape.text) as Record<string, unknown>;
        const after = JSON.parse(text) as Record<string, unknown>;
        for (const [field, v] of Object.entries(before)) {
          if (field !== 'password') expect(after[field], field).toStrictEqual(v);
        }
        // Every byte outside the password's value is the seed's (spacing, number spelling), plus the
        // fields that were absent, appended.
        let restored = text.replace(JSON.stringify(password), JSON.stringify(before.password));
        for (const [field, v] of Object.entries(defaults)) {
          if (!(field in before))
            restored = restored.replace(`,${JSON.stringify(field)}:${JSON.stringify(v)}`, '');
        }
        expect(restored).toBe(shape.text);
        expect(after.username).toBe(before.username ?? 'admin');
        expect(after.engine).toBe(before.engine ?? 'otc-css');
      } else {
        expect(text).toBe(password);
      }
    },
  );

  it('compare-and-set stage: AWSPENDING is taken only while free or from the version named', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2, v3, v4] = [token(), token(), token(), token()];
    const pb = pw();
    const [a, b, c] = [value(pw()), value(pb), value(pw())];
    // A brand-new secret: free.
    expect(await store.stagePending(id, v1, a, { expectPending: null })).toEqual({ created: true });
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getCurrent(id)).toBeUndefined();
    // Another writer expecting it free is refused, and nothing changes.
    const taken = await expectStoreError(store.stagePending(id, v2, b, { expectPending: null }), 'conflict');
    expect(taken.code).toBe(PENDING_TAKEN);
    expect(taken.message).toContain(v1);
    expect(collectErrorText(taken)).not.toContain(pb);
    expect(await store.getPending(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getVersion(id, v2)).toBeUndefined();
    // Naming the wrong holder is refused too.
    const wrong = await expectStoreError(store.stagePending(id, v2, b, { expectPending: v3 }), 'conflict');
    expect(wrong.code).toBe(PENDING_TAKEN);
    // Adopting: the holder named takes the label off that version.
    expect(await store.stagePending(id, v2, a, { expectPending: v1 })).toEqual({ created: true });
    expect(await store.getPending(id)).toEqual({ versionId: v2, text: a });
    expect(await store.getCurrent(id)).toBeUndefined();
    await store.promote(id, v2, { expectCurrent: null });
    expect(await store.getCurrent(id)).toEqual({ versionId: v2, text: a });
    expect(await store.getPrevious(id)).toBeUndefined();
    // Free again after promote.
    expect(await store.stagePending(id, v4, c, { expectPending: null })).toEqual({ created: true });
    expect(await store.getCurrent(id)).toEqual({ versionId: v2, text: a });
    // Every stage a caller sees is a standard one (an own staging label never shows).
    const stages = new Map((await store.describe(id))!.map((v) => [v.versionId, [...v.stages].sort()]));
    expect(stages).toEqual(
      new Map([
        [v4, ['AWSPENDING']],
        [v2, ['AWSCURRENT']],
        [v1, []],
      ]),
    );
  });

  it('compare-and-set promote: refused when AWSCURRENT moved or the version lost AWSPENDING', async () => {
    const store = h.store();
    const id = secretId();
    const [v1, v2, v3] = [token(), token(), token()];
    const pb = pw();
    const [a, b, c] = [value(pw()), value(pb), value(pw())];
    await store.stagePending(id, v1, a, { expectPending: null });
    await store.promote(id, v1, { expectCurrent: null });
    await store.stagePending(id, v2, b, { expectPending: null });
    // AWSCURRENT is v1, not "none": refused, nothing moves.
    const moved = await expectStoreError(store.promote(id, v2, { expectCurrent: null }), 'conflict');
    expect(moved.code).toBe(CURRENT_CHANGED);
    expect(collectErrorText(moved)).not.toContain(pb);
    expect(await store.getCurrent(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getPending(id)).toEqual({ versionId: v2, text: b });
    // Another writer adopts v2's pending label (same password) under v3: v2 may no longer promote.
    await store.stagePending(id, v3, b, { expectPending: v2 });
    const lost = await expectStoreError(store.promote(id, v2, { expectCurrent: v1 }), 'conflict');
    expect(lost.code).toBe(PENDING_LOST);
    expect(await store.getCurrent(id)).toEqual({ versionId: v1, text: a });
    // The adopter promotes; promoting it again (a re-run) is a no-op under CAS as well.
    await store.promote(id, v3, { expectCurrent: v1 });
    await store.promote(id, v3, { expectCurrent: v1 });
    expect(await store.getCurrent(id)).toEqual({ versionId: v3, text: b });
    expect(await store.getPrevious(id)).toEqual({ versionId: v1, text: a });
    expect(await store.getPending(id)).toBeUndefined();
    // v1 was current when c was staged, v3 is now: refused.
    const v4 = token();
    await store.stagePending(id, v4, c, { expectPending: null });
    await expectStoreError(store.promote(id, v4, { expectCurrent: v1 }), 'conflict');
    expect(await store.getCurrent(id)).toEqual({ versionId: v3, text: b });
  });

  it('answers ping for a secret that exists and for one not created yet; refuses a bad id', async () => {
    const store = h.store();
    const id = secretId();
    await expect(store.ping(id)).resolves.toBeUndefined();
    await store.stagePending(id, token(), value(pw()));
    await expect(store.ping(id)).resolves.toBeUndefined();
    await expectStoreError(store.ping('bad id with spaces'), 'invalid');
  });
});
