import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/worker/config.js';
import { storeRateLimit } from '../../src/config/schema.js';
import { ONE_TARGET } from '../support/config-text.js';

const withStore = (store: string) => `\nstore: ${store}\n${ONE_TARGET}`;

function parsed(store: string) {
  const r = parseConfigText(withStore(store));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.store;
}

function problems(store: string) {
  const r = parseConfigText(withStore(store));
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems;
}

describe('store.rateLimit', () => {
  it('defaults to 40 writes per second on AWS Secrets Manager (headroom under the 50/s quota)', () => {
    expect(storeRateLimit(parsed('{ type: aws-secrets-manager, region: eu-central-1 }'))).toEqual({
      max: 40,
      per: 1_000,
    });
  });

  it('has no limit on the file store unless one is configured', () => {
    expect(storeRateLimit(parsed('{ type: file, path: ./s.json }'))).toBeUndefined();
    expect(storeRateLimit(parsed('{ type: file, path: ./s.json, rateLimit: { max: 5 } }'))).toEqual({
      max: 5,
      per: 1_000,
    });
  });

  it('takes max and a duration on either store type', () => {
    expect(
      storeRateLimit(
        parsed('{ type: aws-secrets-manager, region: eu-central-1, rateLimit: { max: 20, per: 2s } }'),
      ),
    ).toEqual({ max: 20, per: 2_000 });
  });

  it('names the field and what is wrong', () => {
    expect(
      problems('{ type: aws-secrets-manager, region: eu-central-1, rateLimit: { max: 0 } }'),
    ).toContainEqual({ path: 'store.rateLimit.max', message: expect.stringMatching(/>0|greater than 0/) });
    expect(
      problems('{ type: aws-secrets-manager, region: eu-central-1, rateLimit: { max: 5, per: soon } }'),
    ).toContainEqual({
      path: 'store.rateLimit.per',
      message: "invalid duration 'soon': use e.g. 500ms, 30s, 5m, 1h, 30d",
    });
    expect(problems('{ type: file, path: ./s.json, rateLimit: { max: 5, burst: 2 } }')).toContainEqual({
      path: 'store.rateLimit.burst',
      message: 'unknown key',
    });
  });
});
