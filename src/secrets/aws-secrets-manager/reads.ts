import { SecretStoreError, type SecretStore, type SecretVersion, type SecretVersionInfo } from '../types.js';
import { assertSecretId } from '../value.js';
import type { AwsCalls, RawVersion } from './calls.js';
import { isUnconfirmedCurrent, visibleStages } from './labels.js';

type Reads = Pick<
  SecretStore,
  'getVersion' | 'getCurrent' | 'getPrevious' | 'getPending' | 'describe' | 'ping'
>;

/** A fetched version as the store returns it; a binary secret is refused. */
export function toVersion(secretId: string, raw: RawVersion | undefined): SecretVersion | undefined {
  if (!raw) return undefined;
  if (raw.text === undefined) {
    throw new SecretStoreError(
      'corrupt',
      `secret ${secretId} version ${raw.versionId} holds no SecretString (a binary secret): the rotator reads text only`,
      { secretId, versionId: raw.versionId },
    );
  }
  return { versionId: raw.versionId, text: raw.text };
}

/** The read side: versions by id or stage as the contract sees them, describe and ping. */
export function createReads(aws: AwsCalls): Reads {
  return {
    async getVersion(secretId, versionId) {
      assertSecretId(secretId);
      return toVersion(secretId, await aws.fetch(secretId, { VersionId: versionId }));
    },

    async getCurrent(secretId) {
      assertSecretId(secretId);
      const raw = await aws.fetch(secretId, { VersionStage: 'AWSCURRENT' });
      return raw && !isUnconfirmedCurrent(raw.labels) ? toVersion(secretId, raw) : undefined;
    },

    async getPrevious(secretId) {
      assertSecretId(secretId);
      const raw = await aws.fetch(secretId, { VersionStage: 'AWSPREVIOUS' });
      return raw && visibleStages(raw.labels).includes('AWSPREVIOUS') ? toVersion(secretId, raw) : undefined;
    },

    async getPending(secretId) {
      assertSecretId(secretId);
      return toVersion(secretId, await aws.fetch(secretId, { VersionStage: 'AWSPENDING' }));
    },

    async describe(secretId) {
      assertSecretId(secretId);
      const labels = await aws.labelsOf(secretId);
      if (!labels) return undefined;
      const infos = new Map<string, SecretVersionInfo>();
      let nextToken: string | undefined;
      for (let page = 0; page < 100; page++) {
        const out = await aws.listVersions(secretId, nextToken);
        for (const v of out.Versions ?? []) {
          if (!v.VersionId) continue;
          const info: SecretVersionInfo = {
            versionId: v.VersionId,
            stages: visibleStages(labels.get(v.VersionId) ?? v.VersionStages ?? []),
          };
          if (v.CreatedDate) info.createdAt = v.CreatedDate;
          infos.set(v.VersionId, info);
        }
        nextToken = out.NextToken;
        if (!nextToken) break;
      }
      // A version DescribeSecret knows but the listing missed (eventual consistency): keep it.
      for (const [versionId, l] of labels) {
        if (!infos.has(versionId)) infos.set(versionId, { versionId, stages: visibleStages(l) });
      }
      return [...infos.values()].sort(
        (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
      );
    },

    async ping(secretId) {
      assertSecretId(secretId);
      // DescribeSecret: metadata only, and a permission rotation needs anyway (ListSecrets is not).
      await aws.labelsOf(secretId);
    },
  };
}
