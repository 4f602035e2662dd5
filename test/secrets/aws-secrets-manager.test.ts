import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAwsSecretsManagerStore,
  PUT_LABEL,
  STAGING_LABEL_PREFIX,
  UNCONFIRMED_LABEL,
} from '../../src/secrets/aws-secrets-manager/index.js';
import { isThrottleError } from '../../src/secrets/aws-secrets-manager/errors.js';
import { retryThrottled, throttleDelay } from '../../src/secrets/aws-secrets-manager/throttle-retry.js';
import { createStore } from '../../src/secrets/index.js';
import { PENDING_TAKEN } from '../../src/secrets/types.js';
import { passwordIn } from '../support/secret-text.js';
import {
  startSecretsManagerEndpoint,
  type SecretsManagerEndpoint,
} from '../support/secrets-manager/endpoint.js';
import { collectErrorText } from './support.js';
import { caught } from '../support/store-error.js';

let sm: SecretsManagerEndpoint;
let raw: SecretsManagerClient;
beforeAll(async () => {
  sm = await startSecretsManagerEndpoint();
  raw = new SecretsManagerClient(sm.clientConfig());
});
afterAll(async () => {
  raw.destroy();
  await sm.close();
});

const id = () => `rotator-test/aws-${randomUUID().slice(0, 8)}`;
const fields = (extra: Record<string, unknown> = {}) => ({
  username: 'admin',
  password: `Pw-${randomUUID()}`,
  engine: 'huaweicloud-css',
  ...extra,
});
const value = (): string => JSON.stringify(fields());
const storeFor = (extra: Partial<Parameters<typeof createAwsSecretsManagerStore>[0]> = {}) =>
  createAwsSecretsManagerStore({
    region: sm.region,
    endpoint: sm.url,
    clientConfig: sm.clientConfig(),
    ...extra,
  });

describe('aws-secrets-manager store: what AWS sees', () => {
  it('creates the secret without a value (KMS key, tags, description) and writes the text byte for byte', async () => {
    const store = storeFor({ kmsKeyId: 'alias/rotator', tags: { team: 'search', env: 'test' } });
    const secretId = id();
    const t = randomUUID();
    const doc = fields({ host: 'css.example.com', port: 9200, tls: { verify: true } });
    const val = JSON.stringify(doc, null, 2);
    await store.stagePending(secretId, t, val, { description: 'CSS admin password' });
    const d = await raw.send(new DescribeSecretCommand({ SecretId: secretId }));
    expect(d.KmsKeyId).toBe('alias/rotator');
    expect(d.Description).toBe('CSS admin password');
    expect(d.Tags).toEqual([
      { Key: 'team', Value: 'search' },
      { Key: 'env', Value: 'test' },
    ]);
    // Exactly one version: CreateSecret carried no value.
    expect(Object.keys(sm.labels(secretId)!)).toEqual([t]);
    const got = await raw.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: t }));
    expect(got.SecretString).toBe(val);
    expect(JSON.parse(got.SecretString!)).toEqual(doc);
    await store.close();
  });

  it('a first rotation ends with exactly one AWSCURRENT, the promoted version, and nothing left over', async () => {
    const store = storeFor();
    const secretId = id();
    const [v1, v2, v3] = [randomUUID(), randomUUID(), randomUUID()];
    await store.stagePending(secretId, v1, value());
    // AWS put AWSCURRENT on the first version by itself; the store does not call it current.
    expect(sm.labels(secretId)).toEqual({ [v1]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(await store.getCurrent(secretId)).toBeUndefined();
    await store.dropPending(secretId, v1);
    expect(sm.labels(secretId)).toEqual({ [v1]: ['AWSCURRENT', UNCONFIRMED_LABEL] });
    await store.stagePending(secretId, v2, value());
    await store.dropPending(secretId, v2);
    await store.stagePending(secretId, v3, value());
    await store.promote(secretId, v3);
    expect(sm.labels(secretId)).toEqual({ [v1]: [], [v2]: [], [v3]: ['AWSCURRENT'] });
    // What a consumer reading AWS directly gets is the promoted password.
    const cur = await raw.send(new GetSecretValueCommand({ SecretId: secretId }));
    expect(cur.VersionId).toBe(v3);
    await store.close();
  });

  it('a first version promoted straight away simply loses AWSPENDING', async () => {
    const store = storeFor();
    const secretId = id();
    const v1 = randomUUID();
    await store.stagePending(secretId, v1, value());
    await store.promote(secretId, v1);
    expect(sm.labels(secretId)).toEqual({ [v1]: ['AWSCURRENT'] });
    await store.close();
  });

  it('with create: false, a missing secret is not-found and nothing is created', async () => {
    const store = createStore(
      { type: 'aws-secrets-manager', region: sm.region, endpoint: sm.url, create: false },
      { awsClientConfig: sm.clientConfig() },
    );
    const secretId = id();
    const t = randomUUID();
    const err = await caught(store.stagePending(secretId, t, value()));
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain(secretId);
    expect(err.message).toContain(t);
    expect(sm.labels(secretId)).toBeUndefined();
    await store.close();
  });

  it('a throttle that outlasts the bounded retry is throttled, naming secret and version, never the value', async () => {
    const throttled: string[] = [];
    const sleeps: number[] = [];
    const store = storeFor({
      throttleRetry: { maxTries: 3 },
      onThrottle: (op) => throttled.push(op),
      clock: { sleep: async (ms) => void sleeps.push(ms) },
      random: () => 0.5,
    });
    const secretId = id();
    const t = randomUUID();
    const val = value();
    await store.stagePending(secretId, randomUUID(), value()); // the secret exists: one put below
    sm.throttle(3, 'PutSecretValue');
    const err = await caught(store.stagePending(secretId, t, val));
    expect(err.kind).toBe('throttled');
    expect(err.code).toBe('ThrottlingException');
    expect(err.message).toContain(secretId);
    expect(err.message).toContain(t);
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(collectErrorText(err)).not.toContain(passwordIn(val));
    // Three tries, each throttled and counted; two backoff sleeps, the ceiling doubling (100, 200 ms).
    expect(throttled).toEqual(['PutSecretValue', 'PutSecretValue', 'PutSecretValue']);
    expect(sleeps).toEqual([50, 100]);
    // The retry with the same token goes through.
    expect(await store.stagePending(secretId, t, val)).toEqual({ created: true });
    await store.close();
  });

  it("lets the SDK's own retries ride out throttling when maxAttempts allows", async () => {
    const store = storeFor({ clientConfig: sm.clientConfig({ maxAttempts: 3 }) });
    const secretId = id();
    sm.throttle(2, 'GetSecretValue');
    expect(await store.getCurrent(secretId)).toBeUndefined();
    await store.close();
  });

  it('maps 5xx and unreachable endpoints to unavailable, and a service echo of the value is scrubbed', async () => {
    const store = storeFor();
    const secretId = id();
    const t = randomUUID();
    const val = value();
    sm.fail({
      operation: 'PutSecretValue',
      status: 500,
      type: 'InternalServiceError',
      message: `boom while storing ${passwordIn(val)}`,
    });
    const err = await caught(store.stagePending(secretId, t, val));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('[REDACTED]');
    expect(collectErrorText(err)).not.toContain(passwordIn(val));

    const dead = createAwsSecretsManagerStore({
      region: sm.region,
      endpoint: 'http://127.0.0.1:9',
      clientConfig: sm.clientConfig({ endpoint: 'http://127.0.0.1:9' }),
    });
    const e2 = await caught(dead.getCurrent(secretId));
    expect(e2.kind).toBe('unavailable');
    await caught(dead.ping(secretId));
    await dead.close();
    await store.close();
  });

  it('ping needs only what rotation needs: one DescribeSecret, no ListSecrets, no value read', async () => {
    // Its own endpoint: an IAM policy scoped to the rotated secrets, where ListSecrets is denied.
    const own = await startSecretsManagerEndpoint();
    const store = createAwsSecretsManagerStore({
      region: own.region,
      endpoint: own.url,
      clientConfig: own.clientConfig(),
    });
    const secretId = id();
    own.fail({ operation: 'ListSecrets', status: 400, type: 'AccessDeniedException', count: 1000 });
    try {
      const before = own.requests.length;
      await store.ping(secretId); // not created yet: reachable and allowed is all /readyz asks
      await store.stagePending(secretId, randomUUID(), value());
      const afterStage = own.requests.length;
      await store.ping(secretId);
      expect(own.requests.slice(before, before + 1)).toEqual([
        { operation: 'DescribeSecret', secretId, status: 400 },
      ]);
      expect(own.requests.slice(afterStage)).toEqual([
        { operation: 'DescribeSecret', secretId, status: 200 },
      ]);

      // Denied on the secret itself: not ready, and the error names the call and the secret.
      own.fail({ operation: 'DescribeSecret', status: 400, type: 'AccessDeniedException' });
      const denied = await caught(store.ping(secretId));
      expect(denied.kind).toBe('invalid');
      expect(denied.message).toContain(`DescribeSecret on secret ${secretId} failed: AccessDeniedException`);
    } finally {
      await store.close();
      await own.close();
    }
  });

  it('a secret marked for deletion is invalid; a binary secret is corrupt; any text is returned as is', async () => {
    const store = storeFor();
    const secretId = id();
    const t = randomUUID();
    await store.stagePending(secretId, t, value());
    await store.promote(secretId, t);
    const other = randomUUID();
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: other,
        SecretString: 'plain text secret',
      }),
    );
    expect(await store.getCurrent(secretId)).toEqual({ versionId: other, text: 'plain text secret' });
    const binary = randomUUID();
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: binary,
        SecretBinary: Buffer.from('binary secret bytes'),
      }),
    );
    const err = await caught(store.getCurrent(secretId));
    expect(err.kind).toBe('corrupt');
    expect(err.message).toContain(binary);
    expect(err.message).toMatch(/SecretString/);
    expect(collectErrorText(err)).not.toContain('binary secret bytes');
    await raw.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: t,
        RemoveFromVersionId: binary,
      }),
    );
    sm.model.DeleteSecret({ SecretId: secretId });
    const e2 = await caught(store.stagePending(secretId, randomUUID(), value()));
    expect(e2.kind).toBe('invalid');
    expect(e2.code).toBe('InvalidRequestException');
    await store.close();
  });

  it('sends signed requests only, and the endpoint refuses unsigned ones', async () => {
    const res = await fetch(sm.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
    const wrongKey = new SecretsManagerClient(
      sm.clientConfig({ credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' } }),
    );
    await expect(wrongKey.send(new DescribeSecretCommand({ SecretId: 'x' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    wrongKey.destroy();
  });
});

describe('aws-secrets-manager store: compare-and-set with the staging labels AWS has', () => {
  it('AWS itself refuses to move AWSPENDING off a version the request does not name', async () => {
    const secretId = id();
    const [a, b] = [randomUUID(), randomUUID()];
    const store = storeFor();
    await store.stagePending(secretId, a, value(), { expectPending: null });
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: b,
        SecretString: value(),
        VersionStages: [`${STAGING_LABEL_PREFIX}${b}`],
      }),
    );
    for (const remove of [undefined, b]) {
      await expect(
        raw.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: 'AWSPENDING',
            MoveToVersionId: b,
            ...(remove ? { RemoveFromVersionId: remove } : {}),
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    }
    expect(sm.labels(secretId)![a]).toContain('AWSPENDING');
    await store.close();
  });

  it('a writer whose version was put but lost the race for AWSPENDING is refused and changes nothing', async () => {
    const secretId = id();
    const [seed, a, b] = [randomUUID(), randomUUID(), randomUUID()];
    const store = storeFor();
    await store.stagePending(secretId, seed, value(), { expectPending: null });
    await store.promote(secretId, seed, { expectCurrent: null });
    // Writer A's PutSecretValue lands (own label only), then writer B stages all the way.
    const mine = value();
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: a,
        SecretString: mine,
        VersionStages: [`${STAGING_LABEL_PREFIX}${a}`],
      }),
    );
    await store.stagePending(secretId, b, value(), { expectPending: null });
    // A goes on (the same call again, as a re-run does): refused.
    const err = await caught(store.stagePending(secretId, a, mine, { expectPending: null }));
    expect(err.kind).toBe('conflict');
    expect(err.code).toBe(PENDING_TAKEN);
    expect(sm.labels(secretId)).toEqual({
      [seed]: ['AWSCURRENT'],
      [a]: [`${STAGING_LABEL_PREFIX}${a}`],
      [b]: ['AWSPENDING', PUT_LABEL],
    });
    expect((await store.getPending(secretId))?.versionId).toBe(b);
    await store.close();
  });

  it('a first version that carries only its own label is not current to anyone using the store', async () => {
    const secretId = id();
    const a = randomUUID();
    const store = storeFor();
    await raw.send(new CreateSecretCommand({ Name: secretId }));
    // A stage stopped between PutSecretValue and the AWSPENDING move: AWS made the version current.
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: a,
        SecretString: value(),
        VersionStages: [`${STAGING_LABEL_PREFIX}${a}`],
      }),
    );
    expect(sm.labels(secretId)).toEqual({ [a]: ['AWSCURRENT', `${STAGING_LABEL_PREFIX}${a}`] });
    expect(await store.getCurrent(secretId)).toBeUndefined();
    expect((await store.describe(secretId))!.map((v) => v.stages)).toEqual([[]]);
    await store.close();
  });

  /** Every request that counts against the write quota (any status: AWS counts each request). */
  const quotaWrites = (secretId: string) =>
    sm.requests.filter(
      (r) =>
        r.secretId === secretId &&
        (r.operation === 'PutSecretValue' ||
          r.operation === 'UpdateSecretVersionStage' ||
          r.operation === 'CreateSecret'),
    );
  const tally = (list: readonly { operation: string }[]) => {
    const out: Record<string, number> = {};
    for (const r of list) out[r.operation] = (out[r.operation] ?? 0) + 1;
    return out;
  };

  it('counts the writes of a first and a steady rotation, with and without compare-and-set', async () => {
    const store = storeFor();
    const [cas, plain] = [id(), id()];
    const rotateOnce = async (secretId: string, withCas: boolean) => {
      const current = (await store.getCurrent(secretId))?.versionId ?? null;
      const v = randomUUID();
      const before = quotaWrites(secretId).length;
      await store.stagePending(secretId, v, value(), withCas ? { expectPending: null } : undefined);
      await store.promote(secretId, v, withCas ? { expectCurrent: current } : undefined);
      expect(sm.labels(secretId)![v]).toContain('AWSCURRENT');
      expect((await store.getCurrent(secretId))?.versionId).toBe(v);
      return tally(quotaWrites(secretId).slice(before));
    };
    const counts = {
      casFirst: await rotateOnce(cas, true),
      casSteady: await rotateOnce(cas, true),
      casSteadyAgain: await rotateOnce(cas, true),
      plainFirst: await rotateOnce(plain, false),
      plainSteady: await rotateOnce(plain, false),
    };
    expect(counts).toEqual({
      casFirst: { CreateSecret: 1, PutSecretValue: 1, UpdateSecretVersionStage: 3 },
      casSteady: { PutSecretValue: 1, UpdateSecretVersionStage: 3 },
      casSteadyAgain: { PutSecretValue: 1, UpdateSecretVersionStage: 3 },
      plainFirst: { CreateSecret: 1, PutSecretValue: 1, UpdateSecretVersionStage: 1 },
      plainSteady: { PutSecretValue: 1, UpdateSecretVersionStage: 2 },
    });
    // What is left: the current version, the previous one, nothing pending, no own label.
    for (const secretId of [cas, plain]) {
      const labels = Object.values(sm.labels(secretId)!).flat();
      expect(labels.filter((l) => l === 'AWSCURRENT' || l === 'AWSPREVIOUS')).toHaveLength(2);
      expect(labels.filter((l) => l === 'AWSPENDING' || l.startsWith(STAGING_LABEL_PREFIX))).toEqual([]);
    }
    await store.close();
  });
});

describe('aws-secrets-manager store: pacing and throttles', () => {
  const isWrite = (op: string) =>
    op === 'PutSecretValue' || op === 'UpdateSecretVersionStage' || op === 'CreateSecret';

  it('every write, and no read, first passes the write gate', async () => {
    const gated: string[] = [];
    const store = storeFor({ writeGate: async (op) => void gated.push(op) });
    const secretId = id();
    const from = sm.requests.length;
    for (let round = 0; round < 2; round++) {
      const current = (await store.getCurrent(secretId))?.versionId ?? null;
      const v = randomUUID();
      await store.stagePending(secretId, v, value(), { expectPending: null });
      await store.promote(secretId, v, { expectCurrent: current });
    }
    const sent = sm.requests.slice(from).filter((r) => r.secretId === secretId);
    expect(gated).toEqual(sent.filter((r) => isWrite(r.operation)).map((r) => r.operation));
    expect(sent.some((r) => !isWrite(r.operation))).toBe(true);
    await store.close();
  });

  it('the SDK retries no throttle itself: every try of a write passes the gate; 5xx stay with the SDK', async () => {
    const gated: string[] = [];
    const store = storeFor({
      // The SDK's own retries on (3 attempts, as by default), quick for the test.
      clientConfig: sm.clientConfig({ maxAttempts: 3 }),
      writeGate: async (op) => void gated.push(op),
      clock: { sleep: async () => {} },
      random: () => 0,
    });
    const secretId = id();
    const seed = randomUUID();
    await store.stagePending(secretId, seed, value(), { expectPending: null });
    await store.promote(secretId, seed, { expectCurrent: null });
    const from = sm.requests.length;
    gated.length = 0;
    const v = randomUUID();
    sm.throttle(2, 'PutSecretValue');
    await store.stagePending(secretId, v, value(), { expectPending: null });
    const puts = sm.requests.slice(from).filter((r) => r.operation === 'PutSecretValue');
    expect(puts.map((r) => r.status)).toEqual([400, 400, 200]);
    // Three tries, three slots: none went to AWS behind the gate's back.
    expect(gated.filter((op) => op === 'PutSecretValue')).toHaveLength(3);
    // A server error is still the SDK's to retry (one try through the gate, two attempts sent).
    gated.length = 0;
    const before = sm.requests.length;
    sm.fail({ operation: 'UpdateSecretVersionStage', status: 500, type: 'InternalServiceError' });
    await store.promote(secretId, v, { expectCurrent: seed });
    const moves = sm.requests.slice(before).filter((r) => r.operation === 'UpdateSecretVersionStage');
    expect(moves[0]!.status).toBe(500);
    expect(moves[1]!.status).toBe(200);
    expect(gated.filter((op) => op === 'UpdateSecretVersionStage')).toHaveLength(moves.length - 1);
    await store.close();
  });

  it('a write the gate refuses is not sent', async () => {
    const store = storeFor({
      writeGate: async () => {
        throw new Error('limiter unavailable');
      },
    });
    const secretId = id();
    const from = sm.requests.length;
    await expect(store.stagePending(secretId, randomUUID(), value())).rejects.toThrow('limiter unavailable');
    expect(sm.requests.slice(from).filter((r) => isWrite(r.operation))).toEqual([]);
    await store.close();
  });

  it('a throttle at any call of a rotation is retried inside that call and the rotation ends as without it', async () => {
    // A steady rotation under compare-and-set; the k-th call of it (read or write) is throttled twice.
    for (let k = 0; ; k++) {
      const throttled: string[] = [];
      const gated: string[] = [];
      const store = storeFor({
        onThrottle: (op) => throttled.push(op),
        writeGate: async (op) => void gated.push(op),
        clock: { sleep: async () => {} },
        random: () => 0.9,
      });
      const secretId = id();
      const seed = randomUUID();
      await store.stagePending(secretId, seed, value(), { expectPending: null });
      await store.promote(secretId, seed, { expectCurrent: null });
      gated.length = 0;
      const v = randomUUID();
      const val = value();
      const from = sm.requests.length;
      sm.fail({ after: k, count: 2, status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
      await store.stagePending(secretId, v, val, { expectPending: null });
      await store.promote(secretId, v, { expectCurrent: seed });
      const sent = sm.requests.slice(from);
      if (throttled.length === 0) {
        // k is past the last call: the scripted throttles are still armed; a read uses them up.
        await store.getCurrent(secretId);
        expect(throttled).toEqual(['GetSecretValue', 'GetSecretValue']);
        await store.close();
        // A steady rotation under compare-and-set: 3 reads and 4 writes, each one throttled in turn.
        expect(k).toBe(7);
        break;
      }
      // Both throttles hit the k-th call, which went through on its third try.
      const op = sent[k]!.operation;
      expect(sent.slice(k, k + 3).map((r) => r.operation)).toEqual([op, op, op]);
      expect(throttled).toEqual([op, op]);
      // The gate was passed on every try of every write, the retried ones too.
      expect(gated).toEqual(sent.filter((r) => isWrite(r.operation)).map((r) => r.operation));
      expect(sm.labels(secretId)).toEqual({ [seed]: ['AWSPREVIOUS'], [v]: ['AWSCURRENT', PUT_LABEL] });
      expect((await store.getCurrent(secretId))?.text).toBe(val);
      await store.close();
    }
  });

  it('backs off with full jitter under a doubling ceiling and stops within the total wait', async () => {
    expect([0, 1, 2, 3, 10].map((a) => throttleDelay(a, 100, 5_000, () => 0.999))).toEqual([
      99, 199, 399, 799, 4_995,
    ]);
    expect(throttleDelay(4, 100, 5_000, () => 0)).toBe(0);
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const sleeps: number[] = [];
    let tries = 0;
    const err = await retryThrottled(
      async () => {
        tries += 1;
        throw throttle;
      },
      isThrottleError,
      { clock: { sleep: async (ms) => void sleeps.push(ms) }, random: () => 0.999 },
      { maxWaitMs: 1_000 },
    ).catch((e: unknown) => e);
    expect(err).toBe(throttle);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(tries).toBe(sleeps.length + 1);
    // Anything but a throttle is passed on at once.
    const other = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    tries = 0;
    await expect(
      retryThrottled(
        async () => {
          tries += 1;
          throw other;
        },
        isThrottleError,
        { clock: { sleep: async () => {} }, random: () => 0.5 },
      ),
    ).rejects.toBe(other);
    expect(tries).toBe(1);
    expect(isThrottleError({ name: 'Error', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottleError({ name: 'X', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } })).toBe(
      true,
    );
  });
});

describe('aws-secrets-manager store: own staging labels', () => {
  it('a first version left with only its own label is never offered as previous, and promote strips it', async () => {
    const store = storeFor();
    const secretId = id();
    const [stray, v] = [randomUUID(), randomUUID()];
    await raw.send(new CreateSecretCommand({ Name: secretId }));
    // A stage stopped between PutSecretValue and the AWSPENDING move: AWS made the version current.
    await raw.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: stray,
        SecretString: value(),
        VersionStages: [`${STAGING_LABEL_PREFIX}${stray}`],
      }),
    );
    await store.stagePending(secretId, v, value(), { expectPending: null });
    // Promote stops right after moving AWSCURRENT: AWS moved AWSPREVIOUS onto the stray version.
    sm.fail({ operation: 'UpdateSecretVersionStage', after: 1, status: 500, type: 'InternalServiceError' });
    await caught(store.promote(secretId, v, { expectCurrent: null }));
    expect(sm.labels(secretId)![stray]).toEqual(['AWSPREVIOUS', `${STAGING_LABEL_PREFIX}${stray}`]);
    expect(await store.getPrevious(secretId)).toBeUndefined();
    const described = await store.describe(secretId);
    expect(described!.find((d) => d.versionId === stray)!.stages).toEqual([]);
    // The re-run finishes and strips what was left: no previous password nobody confirmed.
    await store.promote(secretId, v, { expectCurrent: null });
    expect(sm.labels(secretId)).toEqual({ [stray]: [], [v]: ['AWSCURRENT', PUT_LABEL] });
    expect(await store.getPrevious(secretId)).toBeUndefined();
    await store.close();
  });

  it('a failed removal of the own label surfaces unless the label is gone; a re-run removes it', async () => {
    const store = storeFor();
    const secretId = id();
    const v = randomUUID();
    const val = value();
    // First version: put with its own label, AWSPENDING moved (call 1), the own label removal (call 2) denied.
    sm.fail({
      operation: 'UpdateSecretVersionStage',
      after: 1,
      status: 400,
      type: 'AccessDeniedException',
      message: 'not allowed',
    });
    const err = await caught(store.stagePending(secretId, v, val, { expectPending: null }));
    expect(err.kind).toBe('invalid');
    expect(err.code).toBe('AccessDeniedException');
    expect(sm.labels(secretId)![v]).toContain(`${STAGING_LABEL_PREFIX}${v}`);
    expect(await store.stagePending(secretId, v, val, { expectPending: null })).toEqual({ created: false });
    expect(sm.labels(secretId)).toEqual({ [v]: ['AWSCURRENT', 'AWSPENDING'] });

    // Already gone: AWS answers InvalidParameterException, the label is not there, that is fine.
    const secret2 = id();
    const w = randomUUID();
    const client = new SecretsManagerClient(sm.clientConfig());
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as {
          VersionStage?: string;
          RemoveFromVersionId?: string;
          SecretId?: string;
        };
        if (input.RemoveFromVersionId && input.VersionStage?.startsWith(STAGING_LABEL_PREFIX)) {
          // Someone else took it off first; our call then fails.
          sm.model.UpdateSecretVersionStage({ ...input });
          sm.fail({ operation: 'UpdateSecretVersionStage', status: 400, type: 'InvalidParameterException' });
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const racing = storeFor({ client });
    await racing.stagePending(secret2, w, value(), { expectPending: null });
    expect(sm.labels(secret2)).toEqual({ [w]: ['AWSCURRENT', 'AWSPENDING'] });
    await racing.close();
    client.destroy();
    await store.close();
  });
});

describe('aws-secrets-manager store: promote interrupted between its calls', () => {
  interface Scenario {
    name: string;
    /** Builds the secret; returns the version to promote and the expected previous version. */
    setup(
      store: ReturnType<typeof storeFor>,
      secretId: string,
    ): Promise<{ ours: string; previous?: string; confirmed?: string[] }>;
  }
  const scenarios: Scenario[] = [
    {
      name: 'over a confirmed current version',
      async setup(store, secretId) {
        const [v0, v1, ours] = [randomUUID(), randomUUID(), randomUUID()];
        await store.stagePending(secretId, v0, value());
        await store.promote(secretId, v0);
        await store.stagePending(secretId, v1, value());
        await store.promote(secretId, v1);
        await store.stagePending(secretId, ours, value());
        return { ours, previous: v1, confirmed: [v0, v1] };
      },
    },
    {
      name: 'over a dropped first version',
      async setup(store, secretId) {
        const [v0, ours] = [randomUUID(), randomUUID()];
        await store.stagePending(secretId, v0, value());
        await store.dropPending(secretId, v0);
        await store.stagePending(secretId, ours, value());
        return { ours };
      },
    },
    {
      name: 'the first version of a new secret',
      async setup(store, secretId) {
        const ours = randomUUID();
        await store.stagePending(secretId, ours, value());
        return { ours };
      },
    },
    {
      name: 'a first version whose next staging failed after marking it',
      async setup(store, secretId) {
        const ours = randomUUID();
        await store.stagePending(secretId, ours, value());
        sm.fail({ operation: 'PutSecretValue', status: 500, type: 'InternalServiceError' });
        await expect(store.stagePending(secretId, randomUUID(), value())).rejects.toThrow();
        expect(sm.labels(secretId)![ours]).toContain(UNCONFIRMED_LABEL);
        return { ours };
      },
    },
  ];
  const updates = (secretId: string) =>
    sm.requests.filter((r) => r.operation === 'UpdateSecretVersionStage' && r.secretId === secretId).length;

  it.each(scenarios.map((s) => [s.name, s] as const))(
    '%s: every stop leaves the version current or still pending, and a re-run finishes',
    async (_name, scenario) => {
      const store = storeFor();
      let stops = 0;
      for (let k = 0; stops < 20; k++) {
        const secretId = id();
        const { ours, previous, confirmed = [] } = await scenario.setup(store, secretId);
        const before = updates(secretId);
        sm.fail({
          operation: 'UpdateSecretVersionStage',
          after: k,
          status: 500,
          type: 'InternalServiceError',
        });
        const failed = await store.promote(secretId, ours).then(
          () => false,
          () => true,
        );
        if (!failed) {
          // Promote made exactly k label updates: the scripted failure is still armed; use it up.
          expect(updates(secretId) - before).toBe(k);
          await expect(
            raw.send(
              new UpdateSecretVersionStageCommand({
                SecretId: secretId,
                VersionStage: 'X',
                RemoveFromVersionId: ours,
              }),
            ),
          ).rejects.toMatchObject({ name: 'InternalServiceError' });
          break;
        }
        stops += 1;
        // What the rotation core sees: the version is current, or still pending (a re-run reuses it).
        const current = await store.getCurrent(secretId);
        const pending = await store.getPending(secretId);
        if (current?.versionId !== ours) expect(pending?.versionId).toBe(ours);
        // A version nobody confirmed is never offered as the previous password.
        const prev = await store.getPrevious(secretId);
        if (prev) expect(confirmed).toContain(prev.versionId);
        await store.promote(secretId, ours);
        expect((await store.getCurrent(secretId))?.versionId).toBe(ours);
        expect(await store.getPending(secretId)).toBeUndefined();
        expect((await store.getPrevious(secretId))?.versionId).toBe(previous);
        const labels = sm.labels(secretId)!;
        expect(labels[ours]).toEqual(['AWSCURRENT']);
        for (const [v, l] of Object.entries(labels)) {
          if (v !== ours) expect(l).toEqual(v === previous ? ['AWSPREVIOUS'] : []);
        }
      }
      expect(stops).toBeGreaterThan(0);
      await store.close();
    },
  );
});
