import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/secrets/file/index.js';
import {
  emptyState,
  promoteIn,
  serializeState,
  serializeStateChunks,
  serializeStateWith,
  stagePendingIn,
  type StoredSecret,
} from '../../src/secrets/file/state.js';
import { SecretStoreError } from '../../src/secrets/types.js';
import { jsonSecret, passwordOf } from '../support/secret-text.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotator-file-batch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = Buffer.alloc(32, 3);
const value = (password = `Pw-${randomUUID()}`): string => jsonSecret(password);
const token = () => `tok-${randomUUID()}`;

describe('file store: group commit and read cache', () => {
  it('commits many concurrent writes; a conflicting one fails alone and leaves the others intact', async () => {
    const path = join(dir, 'secrets.enc');
    const store = createFileStore({ path, keyBytes: key });
    const first = token();
    await store.stagePending('s/conflict', first, value('Original-1a'));
    const tokens = Array.from({ length: 60 }, token);
    const results = await Promise.allSettled([
      ...tokens.map((t, i) => store.stagePending(`s/${i}`, t, value(`Pass-${i}-x`))),
      store.stagePending('s/conflict', first, value('Different-2b')),
      ...tokens.map((t, i) => store.promote(`s/${i}`, t)),
    ]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    const reason = (failed[0] as PromiseRejectedResult).reason as SecretStoreError;
    expect(reason).toBeInstanceOf(SecretStoreError);
    expect(reason.kind).toBe('conflict');
    // A fresh instance reads the file itself, not this one's cache.
    const reader = createFileStore({ path, keyBytes: key });
    for (const [i, t] of tokens.entries()) {
      expect(await reader.getCurrent(`s/${i}`)).toEqual({ versionId: t, text: value(`Pass-${i}-x`) });
    }
    expect(passwordOf(await reader.getPending('s/conflict'))).toBe('Original-1a');
  });

  it('sees what another instance wrote, and does not undo it with its own next write', async () => {
    const path = join(dir, 'secrets.enc');
    const a = createFileStore({ path, keyBytes: key });
    const b = createFileStore({ path, keyBytes: key });
    const t1 = token();
    await a.stagePending('s/one', t1, value('First-pass-1'));
    expect((await a.getPending('s/one'))?.versionId).toBe(t1);
    await b.promote('s/one', t1);
    expect((await a.getCurrent('s/one'))?.versionId).toBe(t1);
    expect(await a.getPending('s/one')).toBeUndefined();
    const t2 = token();
    await b.stagePending('s/two', t2, value('Second-pass-2'));
    await a.stagePending('s/three', token(), value('Third-pass-3'));
    const c = createFileStore({ path, keyBytes: key });
    expect((await c.getPending('s/two'))?.versionId).toBe(t2);
    expect((await c.getCurrent('s/one'))?.versionId).toBe(t1);
    expect(await c.getPending('s/three')).toBeDefined();
  });

  it('hands out copies: changing a returned version does not change the store', async () => {
    const store = createFileStore({ path: join(dir, 'secrets.enc'), keyBytes: key });
    const t = token();
    await store.stagePending('s/x', t, value('Kept-value-1'));
    const got = await store.getPending('s/x');
    got!.text = 'changed';
    expect(passwordOf(await store.getPending('s/x'))).toBe('Kept-value-1');
  });
});

describe('file store: serialization with cached fragments', () => {
  it('gives the same text as serializeState, and picks up a secret replaced by a changed copy', () => {
    const state = emptyState();
    for (let i = 0; i < 20; i++) {
      const t = `token-${i}-${'x'.repeat(32)}`;
      stagePendingIn(state, { secretId: `s/${i}`, token: t, text: value(`P-${i}-a`), now: 1000 + i });
      if (i % 2 === 0) promoteIn(state, `s/${i}`, t);
    }
    const fragments = new WeakMap<StoredSecret, string>();
    expect(serializeStateWith(state, fragments)).toBe(serializeState(state));
    const copy = structuredClone(state.secrets.get('s/3')!);
    state.secrets.set('s/3', copy);
    promoteIn(state, 's/3', `token-3-${'x'.repeat(32)}`);
    expect(serializeStateWith(state, fragments)).toBe(serializeState(state));
    expect(JSON.parse(serializeStateWith(state, fragments))).toEqual(JSON.parse(serializeState(state)));
  });

  it('in pieces of any size joins to the same text, each piece within the size unless one secret is larger', () => {
    const state = emptyState();
    for (let i = 0; i < 50; i++) {
      stagePendingIn(state, {
        secretId: `s/${i}`,
        token: `token-${i}-${'y'.repeat(32)}`,
        text: value(`P-${i}`),
        now: i,
      });
    }
    const whole = serializeState(state);
    const largest = Math.max(...[...state.secrets].map(([id, s]) => JSON.stringify({ id, ...s }).length + 1));
    for (const size of [1, 50, 200, 1000, 10_000, 1_000_000]) {
      const chunks = serializeStateChunks(state, new WeakMap(), size);
      expect(chunks.join('')).toBe(whole);
      for (const c of chunks.slice(0, -1)) expect(c.length).toBeLessThanOrEqual(Math.max(size, largest + 40));
    }
    expect(serializeStateChunks(emptyState(), new WeakMap()).join('')).toBe(serializeState(emptyState()));
  });
});
