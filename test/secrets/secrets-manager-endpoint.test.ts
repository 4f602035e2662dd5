import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSecretsManagerEndpoint,
  type SecretsManagerEndpoint,
} from '../support/secrets-manager/endpoint.js';

/** The loopback endpoint against the documented Secrets Manager semantics, through the real SDK. */
let sm: SecretsManagerEndpoint;
let client: SecretsManagerClient;
beforeAll(async () => {
  sm = await startSecretsManagerEndpoint();
  client = new SecretsManagerClient(sm.clientConfig());
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});

const name = () => `ep-${randomUUID().slice(0, 8)}`;
const rejects = (p: Promise<unknown>, type: string) => expect(p).rejects.toMatchObject({ name: type });

describe('Secrets Manager-compatible endpoint', () => {
  it('PutSecretValue: token idempotency, ResourceExistsException, first version AWSCURRENT, AWSPREVIOUS upkeep', async () => {
    const n = name();
    await client.send(new CreateSecretCommand({ Name: n }));
    await rejects(client.send(new CreateSecretCommand({ Name: n })), 'ResourceExistsException');
    await rejects(client.send(new GetSecretValueCommand({ SecretId: n })), 'ResourceNotFoundException');
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const first = await client.send(
      new PutSecretValueCommand({
        SecretId: n,
        ClientRequestToken: a,
        SecretString: 'A',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(first.VersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    await client.send(new PutSecretValueCommand({ SecretId: n, ClientRequestToken: a, SecretString: 'A' }));
    await rejects(
      client.send(new PutSecretValueCommand({ SecretId: n, ClientRequestToken: a, SecretString: 'other' })),
      'ResourceExistsException',
    );
    await client.send(
      new PutSecretValueCommand({
        SecretId: n,
        ClientRequestToken: b,
        SecretString: 'B',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(sm.labels(n)).toEqual({ [a]: ['AWSCURRENT'], [b]: ['AWSPENDING'] });
    // Without VersionStages, AWSCURRENT moves and AWSPREVIOUS follows.
    await client.send(new PutSecretValueCommand({ SecretId: n, ClientRequestToken: c, SecretString: 'C' }));
    expect(sm.labels(n)).toEqual({ [a]: ['AWSPREVIOUS'], [b]: ['AWSPENDING'], [c]: ['AWSCURRENT'] });
    await rejects(
      client.send(new PutSecretValueCommand({ SecretId: n, ClientRequestToken: 'short', SecretString: 'x' })),
      'InvalidParameterException',
    );
    await rejects(
      client.send(
        new PutSecretValueCommand({ SecretId: 'missing-' + n, ClientRequestToken: a, SecretString: 'x' }),
      ),
      'ResourceNotFoundException',
    );
  });

  it('UpdateSecretVersionStage: moves, RemoveFromVersionId checks, AWSCURRENT cannot be removed', async () => {
    const n = name();
    const [a, b] = [randomUUID(), randomUUID()];
    await client.send(new CreateSecretCommand({ Name: n, ClientRequestToken: a, SecretString: 'A' }));
    await client.send(
      new PutSecretValueCommand({
        SecretId: n,
        ClientRequestToken: b,
        SecretString: 'B',
        VersionStages: ['AWSPENDING'],
      }),
    );
    await rejects(
      client.send(
        new UpdateSecretVersionStageCommand({ SecretId: n, VersionStage: 'AWSCURRENT', MoveToVersionId: b }),
      ),
      'InvalidParameterException',
    );
    await rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: n,
          VersionStage: 'AWSCURRENT',
          RemoveFromVersionId: a,
        }),
      ),
      'InvalidParameterException',
    );
    await rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: n,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: a,
        }),
      ),
      'InvalidParameterException',
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: n,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: b,
        RemoveFromVersionId: a,
      }),
    );
    expect(sm.labels(n)).toEqual({ [a]: ['AWSPREVIOUS'], [b]: ['AWSCURRENT', 'AWSPENDING'] });
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: n,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: b,
      }),
    );
    const d = await client.send(new DescribeSecretCommand({ SecretId: n }));
    expect(d.VersionIdsToStages).toEqual({ [a]: ['AWSPREVIOUS'], [b]: ['AWSCURRENT'] });
    await rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: n,
          VersionStage: 'X',
          MoveToVersionId: randomUUID(),
        }),
      ),
      'ResourceNotFoundException',
    );
  });

  it('GetSecretValue by stage and id, ListSecretVersionIds with deprecated versions and dates', async () => {
    const n = name();
    const [a, b] = [randomUUID(), randomUUID()];
    await client.send(new CreateSecretCommand({ Name: n, ClientRequestToken: a, SecretString: 'A' }));
    await client.send(
      new PutSecretValueCommand({
        SecretId: n,
        ClientRequestToken: b,
        SecretString: 'B',
        VersionStages: ['AWSPENDING'],
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: n,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: b,
      }),
    );
    expect((await client.send(new GetSecretValueCommand({ SecretId: n, VersionId: b }))).SecretString).toBe(
      'B',
    );
    await rejects(
      client.send(new GetSecretValueCommand({ SecretId: n, VersionStage: 'AWSPENDING' })),
      'ResourceNotFoundException',
    );
    const labelled = await client.send(new ListSecretVersionIdsCommand({ SecretId: n }));
    expect(labelled.Versions?.map((v) => v.VersionId)).toEqual([a]);
    const all = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: n, IncludeDeprecated: true, MaxResults: 1 }),
    );
    expect(all.Versions).toHaveLength(1);
    expect(all.NextToken).toBeDefined();
    expect(all.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);
  });

  it('scripted throttling answers 400 ThrottlingException in the AWS JSON shape', async () => {
    sm.throttle(1);
    const res = await client.send(new DescribeSecretCommand({ SecretId: 'x' })).catch((e: unknown) => e);
    expect(res).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(sm.requests.at(-1)).toMatchObject({ operation: 'DescribeSecret', status: 400 });
  });

  it('write quota: PutSecretValue + UpdateSecretVersionStage share max per window, reads and CreateSecret do not count', async () => {
    let t = 1_000_000;
    const own = await startSecretsManagerEndpoint({ now: () => t, writeQuota: { max: 3, perMs: 1000 } });
    const c = new SecretsManagerClient(own.clientConfig());
    try {
      const n = name();
      const [a, b, d, e] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      await c.send(new CreateSecretCommand({ Name: n, ClientRequestToken: a, SecretString: 'A' }));
      const put = (token: string, value: string) =>
        c.send(
          new PutSecretValueCommand({
            SecretId: n,
            ClientRequestToken: token,
            SecretString: value,
            VersionStages: ['AWSPENDING'],
          }),
        );
      await put(b, 'B'); // t = 0 ms into the window
      t += 400;
      await c.send(
        new UpdateSecretVersionStageCommand({
          SecretId: n,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: b,
          RemoveFromVersionId: a,
        }),
      );
      await put(d, 'D'); // 3rd write within 1000 ms: the last one allowed
      const before = own.labels(n);
      const throttled = await put(e, 'E').catch((err: unknown) => err);
      expect(throttled).toMatchObject({
        name: 'ThrottlingException',
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 400 },
      });
      const stage = await c
        .send(new UpdateSecretVersionStageCommand({ SecretId: n, VersionStage: 'X', MoveToVersionId: d }))
        .catch((err: unknown) => err);
      expect(stage).toMatchObject({ name: 'ThrottlingException' });
      // A throttled write changes nothing; reads are not limited.
      expect(own.labels(n)).toEqual(before);
      await c.send(new GetSecretValueCommand({ SecretId: n }));
      await c.send(new DescribeSecretCommand({ SecretId: n }));
      // The window slides: 1000 ms after the first write one slot frees, not two.
      t += 599; // 999 ms after the first write
      await expect(put(e, 'E')).rejects.toMatchObject({ name: 'ThrottlingException' });
      t += 1;
      await put(e, 'E');
      await expect(put(randomUUID(), 'F')).rejects.toMatchObject({ name: 'ThrottlingException' });
      expect({ accepted: own.writeQuota?.accepted, throttled: own.writeQuota?.throttled }).toEqual({
        accepted: 4,
        throttled: 4,
      });
      expect(own.writeQuota?.acceptedBy).toEqual({ PutSecretValue: 3, UpdateSecretVersionStage: 1 });
      expect(own.requests.filter((r) => r.status === 400).map((r) => r.operation)).toEqual([
        'PutSecretValue',
        'UpdateSecretVersionStage',
        'PutSecretValue',
        'PutSecretValue',
      ]);
    } finally {
      c.destroy();
      await own.close();
    }
  });

  it('without writeQuota nothing is throttled and nothing is counted', async () => {
    expect(sm.writeQuota).toBeUndefined();
    const n = name();
    await client.send(new CreateSecretCommand({ Name: n }));
    for (let i = 0; i < 60; i++) {
      await client.send(
        new PutSecretValueCommand({ SecretId: n, ClientRequestToken: randomUUID(), SecretString: String(i) }),
      );
    }
    expect(sm.requests.filter((r) => r.secretId === n && r.status !== 200)).toEqual([]);
  });
});
