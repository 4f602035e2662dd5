import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CURRENT_CHANGED,
  PENDING_LOST,
  PENDING_TAKEN,
  SecretStoreError,
  type SecretStage,
  type SecretStore,
  type SecretVersion,
  type SecretVersionInfo,
} from '../types.js';
import { sensitiveParts } from '../format.js';
import { assertSecretId, assertSecretText, assertToken } from '../value.js';
import { isCode, toStoreError } from './errors.js';

export interface AwsSecretsManagerStoreOptions {
  region: string;
  /** LocalStack or a test endpoint; default: the SDK's endpoint for the region. */
  endpoint?: string | undefined;
  /** Create the secret (without a value) when it does not exist yet. Default true. */
  create?: boolean | undefined;
  kmsKeyId?: string | undefined;
  tags?: Record<string, string> | undefined;
  /**
   * Extra SDK client configuration (credentials, maxAttempts, requestHandler...). Without
   * credentials here the SDK's default provider chain is used.
   */
  clientConfig?: SecretsManagerClientConfig | undefined;
  /** A ready client; wins over region, endpoint and clientConfig. Not destroyed by close(). */
  client?: SecretsManagerClient | undefined;
}

export interface AwsSecretsManagerStore extends SecretStore {
  readonly type: 'aws-secrets-manager';
  readonly client: SecretsManagerClient;
}

/**
 * AWS puts AWSCURRENT on the first version of a secret whatever VersionStages says. Until that
 * version is promoted it is not a password anybody has confirmed, so the store marks it:
 * - a version with AWSCURRENT and AWSPENDING is the first pending version of a new secret;
 * - a version with AWSCURRENT and this label is a first version that was dropped (rejected);
 * either is "no current" for getCurrent/describe, and never becomes AWSPREVIOUS.
 * AWS does not allow removing AWSCURRENT, so the label is how a rejected first password stays
 * un-current; the next promote moves AWSCURRENT away and clears it.
 */
export const UNCONFIRMED_LABEL = 'ROTATOR_UNCONFIRMED';

/**
 * Under compare-and-set (StageOptions.expectPending) a new version is put with a label of its own,
 * `ROTATOR_STAGING-<version id>`, never with AWSPENDING: PutSecretValue moves any label it names
 * silently, but needs at least one (without any it moves AWSCURRENT). UpdateSecretVersionStage then
 * moves AWSPENDING onto it, which AWS refuses while another version holds AWSPENDING unless
 * RemoveFromVersionId names that version: the store's own compare-and-set. The own label comes off
 * right after. While it is on, a first version (which AWS makes AWSCURRENT) counts as unconfirmed.
 */
export const STAGING_LABEL_PREFIX = 'ROTATOR_STAGING-';

const STANDARD_STAGES = new Set<string>(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);

function isUnconfirmedCurrent(labels: readonly string[]): boolean {
  return (
    labels.includes('AWSCURRENT') &&
    (labels.includes('AWSPENDING') ||
      labels.includes(UNCONFIRMED_LABEL) ||
      labels.some((l) => l.startsWith(STAGING_LABEL_PREFIX)))
  );
}

/** The stages as the SecretStore contract sees them (see UNCONFIRMED_LABEL). */
export function visibleStages(labels: readonly string[]): SecretStage[] {
  const hidden =
    isUnconfirmedCurrent(labels) ||
    labels.includes(UNCONFIRMED_LABEL) ||
    labels.some((l) => l.startsWith(STAGING_LABEL_PREFIX));
  return labels.filter(
    (l): l is SecretStage =>
      STANDARD_STAGES.has(l) && !(hidden && (l === 'AWSCURRENT' || l === 'AWSPREVIOUS')),
  );
}

interface RawVersion {
  versionId: string;
  labels: string[];
  text: string | undefined;
}

function currentChanged(
  secretId: string,
  versionId: string,
  found: string | null,
  expect: string | null,
): SecretStoreError {
  return new SecretStoreError(
    'conflict',
    `secret ${secretId}: AWSCURRENT is ${found ?? 'on no confirmed version'}, not ${expect ?? 'on no version'} as when version ${versionId} was staged`,
    { secretId, versionId, code: CURRENT_CHANGED },
  );
}

export function createAwsSecretsManagerStore(options: AwsSecretsManagerStoreOptions): AwsSecretsManagerStore {
  const ownsClient = options.client === undefined;
  const client =
    options.client ??
    new SecretsManagerClient({
      ...options.clientConfig,
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  const create = options.create ?? true;

  async function send<T>(
    operation: string,
    secretId: string,
    versionId: string | undefined,
    call: () => Promise<T>,
    secrets: readonly string[] = [],
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw toStoreError(err, { operation, secretId, versionId, secrets });
    }
  }

  /** GetSecretValue; undefined on ResourceNotFoundException. */
  async function fetch(
    secretId: string,
    selector: { VersionStage: string } | { VersionId: string },
  ): Promise<RawVersion | undefined> {
    const versionId = 'VersionId' in selector ? selector.VersionId : undefined;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId, ...selector }));
      return {
        versionId: out.VersionId ?? versionId ?? '',
        labels: out.VersionStages ?? [],
        text: out.SecretString,
      };
    } catch (err) {
      if (isCode(err, 'ResourceNotFoundException')) return undefined;
      throw toStoreError(err, { operation: 'GetSecretValue', secretId, versionId });
    }
  }

  function toVersion(secretId: string, raw: RawVersion | undefined): SecretVersion | undefined {
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

  /** DescribeSecret's labelled versions; undefined when the secret does not exist. */
  async function labelsOf(secretId: string): Promise<Map<string, string[]> | undefined> {
    try {
      const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return new Map(Object.entries(out.VersionIdsToStages ?? {}));
    } catch (err) {
      if (isCode(err, 'ResourceNotFoundException')) return undefined;
      throw toStoreError(err, { operation: 'DescribeSecret', secretId });
    }
  }

  /** Labels of `versionId`, [] for an existing unlabelled version; throws not-found otherwise. */
  async function requireLabels(
    secretId: string,
    versionId: string,
  ): Promise<{ all: Map<string, string[]>; mine: string[] }> {
    const all = await labelsOf(secretId);
    if (!all) {
      throw new SecretStoreError('not-found', `secret ${secretId} does not exist`, { secretId, versionId });
    }
    const mine = all.get(versionId);
    if (mine) return { all, mine };
    if (!(await fetch(secretId, { VersionId: versionId }))) {
      throw new SecretStoreError('not-found', `secret ${secretId} has no version ${versionId}`, {
        secretId,
        versionId,
      });
    }
    return { all, mine: [] };
  }

  async function updateStage(
    secretId: string,
    versionId: string,
    input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string },
  ): Promise<void> {
    await send('UpdateSecretVersionStage', secretId, versionId, () =>
      client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, ...input })),
    );
  }

  async function createSecret(secretId: string, description: string | undefined): Promise<void> {
    try {
      await client.send(
        new CreateSecretCommand({
          Name: secretId,
          // No value: a version created here would become AWSCURRENT before any cloud accepted it.
          ...(description !== undefined ? { Description: description } : {}),
          ...(options.kmsKeyId ? { KmsKeyId: options.kmsKeyId } : {}),
          ...(options.tags
            ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) }
            : {}),
        }),
      );
    } catch (err) {
      // Another worker created it in the meantime: fine.
      if (!isCode(err, 'ResourceExistsException'))
        throw toStoreError(err, { operation: 'CreateSecret', secretId });
    }
  }

  /** AWSPENDING's holder and every version's labels; a missing secret has none. */
  async function pendingHolder(secretId: string): Promise<{ all: Map<string, string[]>; holder?: string }> {
    const all = (await labelsOf(secretId)) ?? new Map<string, string[]>();
    const holder = [...all].find(([, l]) => l.includes('AWSPENDING'))?.[0];
    return holder === undefined ? { all } : { all, holder };
  }

  function pendingTaken(secretId: string, token: string, holder: string | undefined): SecretStoreError {
    return new SecretStoreError(
      'conflict',
      `secret ${secretId}: version ${holder ?? '(unknown)'} of another writer holds AWSPENDING`,
      { secretId, versionId: token, code: PENDING_TAKEN },
    );
  }

  /**
   * Moves AWSPENDING onto `token` only from `expect` (or from no version), then takes the version's
   * own staging label off. AWS refuses the move when another version holds the label and is not
   * named by RemoveFromVersionId: that refusal is the compare-and-set.
   */
  async function takePending(secretId: string, token: string, expect: string | null): Promise<void> {
    const { all, holder } = await pendingHolder(secretId);
    if (holder !== token) {
      if (holder !== undefined && holder !== expect) throw pendingTaken(secretId, token, holder);
      const first = holder !== undefined ? all.get(holder) : undefined;
      if (first && first.includes('AWSCURRENT') && !first.includes(UNCONFIRMED_LABEL)) {
        // Adopting the pending first version of a new secret: it must stay unconfirmed.
        await updateStage(secretId, holder!, { VersionStage: UNCONFIRMED_LABEL, MoveToVersionId: holder! });
      }
      try {
        await updateStage(secretId, token, {
          VersionStage: 'AWSPENDING',
          MoveToVersionId: token,
          ...(holder !== undefined ? { RemoveFromVersionId: holder } : {}),
        });
      } catch (err) {
        // Refused: someone moved AWSPENDING since we looked. Anything else is passed on.
        const now = await pendingHolder(secretId).catch(() => undefined);
        if (now && now.holder !== token && now.holder !== holder)
          throw pendingTaken(secretId, token, now.holder);
        throw err;
      }
    }
    const own = `${STAGING_LABEL_PREFIX}${token}`;
    if ((all.get(token) ?? []).includes(own) || holder !== token) {
      await updateStage(secretId, token, { VersionStage: own, RemoveFromVersionId: token }).catch(
        (err: unknown) => {
          // Already gone (a re-run): fine.
          if (!(err instanceof SecretStoreError && err.kind === 'invalid')) throw err;
        },
      );
    }
  }

  /**
   * PutSecretValue of a new version carrying `label`; a secret that does not exist yet is created
   * first when `store.create` allows it.
   */
  async function putVersion(
    secretId: string,
    token: string,
    text: string,
    label: string,
    secrets: readonly string[],
    description: string | undefined,
  ): Promise<void> {
    const put = () =>
      client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: text,
          VersionStages: [label],
        }),
      );
    try {
      await put();
    } catch (err) {
      if (isCode(err, 'ResourceExistsException')) throw versionExists(secretId, token);
      if (!isCode(err, 'ResourceNotFoundException')) {
        throw toStoreError(err, { operation: 'PutSecretValue', secretId, versionId: token, secrets });
      }
      if (!create) {
        throw new SecretStoreError(
          'not-found',
          `cannot stage version ${token}: secret ${secretId} does not exist and store.create is false; create it first`,
          { secretId, versionId: token, code: 'ResourceNotFoundException' },
        );
      }
      await createSecret(secretId, description);
      await send('PutSecretValue', secretId, token, put, secrets);
    }
  }

  /** stagePending under compare-and-set: put with an own label, then take AWSPENDING by CAS. */
  async function stageWithCas(
    secretId: string,
    token: string,
    text: string,
    secrets: readonly string[],
    expect: string | null,
    description: string | undefined,
  ): Promise<void> {
    // Fail early, before a version is written, when the label is visibly someone else's.
    const { holder } = await pendingHolder(secretId);
    if (holder !== undefined && holder !== expect) throw pendingTaken(secretId, token, holder);
    await putVersion(secretId, token, text, `${STAGING_LABEL_PREFIX}${token}`, secrets, description);
    await takePending(secretId, token, expect);
  }

  const store: AwsSecretsManagerStore = {
    type: 'aws-secrets-manager',
    client,

    async stagePending(secretId, token, text, opts) {
      assertSecretId(secretId);
      assertToken(secretId, token);
      assertSecretText(secretId, text, token);
      const secrets = sensitiveParts(text);
      const existing = await fetch(secretId, { VersionId: token });
      if (existing) {
        if (existing.text === text) {
          // Put with its own label, but stopped before it took AWSPENDING: finish that.
          if (opts?.expectPending !== undefined && !existing.labels.includes('AWSPENDING')) {
            await takePending(secretId, token, opts.expectPending);
          }
          return { created: false };
        }
        throw versionExists(secretId, token);
      }
      if (opts?.expectPending !== undefined) {
        await stageWithCas(secretId, token, text, secrets, opts.expectPending, opts.description);
        return { created: true };
      }
      const labels = await labelsOf(secretId);
      if (labels) {
        // Staging moves AWSPENDING away: an unconfirmed first version must keep its mark.
        for (const [versionId, l] of labels) {
          if (l.includes('AWSCURRENT') && l.includes('AWSPENDING') && !l.includes(UNCONFIRMED_LABEL)) {
            await updateStage(secretId, versionId, {
              VersionStage: UNCONFIRMED_LABEL,
              MoveToVersionId: versionId,
            });
          }
        }
      } else if (create) {
        await createSecret(secretId, opts?.description);
      }
      await putVersion(secretId, token, text, 'AWSPENDING', secrets, opts?.description);
      return { created: true };
    },

    async getVersion(secretId, versionId) {
      assertSecretId(secretId);
      return toVersion(secretId, await fetch(secretId, { VersionId: versionId }));
    },

    async getCurrent(secretId) {
      assertSecretId(secretId);
      const raw = await fetch(secretId, { VersionStage: 'AWSCURRENT' });
      return raw && !isUnconfirmedCurrent(raw.labels) ? toVersion(secretId, raw) : undefined;
    },

    async getPrevious(secretId) {
      assertSecretId(secretId);
      const raw = await fetch(secretId, { VersionStage: 'AWSPREVIOUS' });
      return raw && !raw.labels.includes(UNCONFIRMED_LABEL) ? toVersion(secretId, raw) : undefined;
    },

    async getPending(secretId) {
      assertSecretId(secretId);
      return toVersion(secretId, await fetch(secretId, { VersionStage: 'AWSPENDING' }));
    },

    async promote(secretId, versionId, opts) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      const { all, mine } = await requireLabels(secretId, versionId);
      const currentId = [...all].find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
      const expect = opts?.expectCurrent;
      if (expect !== undefined && currentId !== versionId) {
        // Compare-and-set: our version still holds AWSPENDING (read here) and AWSCURRENT is still
        // what the rotation saw, which the UpdateSecretVersionStage below enforces atomically
        // (RemoveFromVersionId must name the holder of AWSCURRENT, or AWS refuses).
        if (!mine.includes('AWSPENDING')) {
          throw new SecretStoreError(
            'conflict',
            `secret ${secretId}: version ${versionId} no longer holds AWSPENDING`,
            { secretId, versionId, code: PENDING_LOST },
          );
        }
        const holderLabels = currentId ? (all.get(currentId) ?? []) : [];
        // An unconfirmed first version is "no current" to the rotation.
        const visible = currentId !== undefined && !isUnconfirmedCurrent(holderLabels) ? currentId : null;
        if (visible !== expect) throw currentChanged(secretId, versionId, visible, expect);
        try {
          await updateStage(secretId, versionId, {
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            ...(currentId ? { RemoveFromVersionId: currentId } : {}),
          });
        } catch (err) {
          const now = await labelsOf(secretId).catch(() => undefined);
          const holder = now && [...now].find(([, l]) => l.includes('AWSCURRENT'))?.[0];
          if (now && holder !== currentId && holder !== versionId) {
            throw currentChanged(secretId, versionId, holder ?? null, expect);
          }
          throw err;
        }
      }
      // Several calls, and any of them can fail: AWSPENDING comes off our version LAST. Until then a
      // half-done promote leaves it with AWSCURRENT and AWSPENDING, which getCurrent hides (like a
      // first pending version) and getPending returns, so a re-run reuses the same password and
      // calls promote again, which finishes from wherever this one stopped. Removing AWSPENDING
      // first would leave a version with no label at all between two calls: what a dropped
      // (rejected) version looks like.
      const after = new Map(all);
      if (currentId !== versionId) {
        // (Under compare-and-set the move above was this call.)
        if (expect === undefined) {
          await updateStage(secretId, versionId, {
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            ...(currentId ? { RemoveFromVersionId: currentId } : {}),
          });
        }
        // What AWS did: AWSCURRENT moved here, AWSPREVIOUS moved to the old current.
        for (const [id, labels] of after) {
          after.set(
            id,
            labels.filter((l) => l !== 'AWSPREVIOUS' && l !== 'AWSCURRENT'),
          );
        }
        if (currentId) after.set(currentId, [...(after.get(currentId) ?? []), 'AWSPREVIOUS']);
      }
      // A version that was never confirmed (a dropped first version, or a first version still
      // pending) must not be offered as the previous password. Checked on every version, so that a
      // re-run also cleans up after a promote that stopped between its calls.
      for (const [id, labels] of after) {
        if (id === versionId) continue;
        const unconfirmed = labels.includes(UNCONFIRMED_LABEL) || labels.includes('AWSPENDING');
        if (unconfirmed && labels.includes('AWSPREVIOUS')) {
          await updateStage(secretId, id, { VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: id });
        }
        if (labels.includes(UNCONFIRMED_LABEL)) {
          await updateStage(secretId, id, { VersionStage: UNCONFIRMED_LABEL, RemoveFromVersionId: id });
        }
      }
      if (mine.includes(UNCONFIRMED_LABEL)) {
        await updateStage(secretId, versionId, {
          VersionStage: UNCONFIRMED_LABEL,
          RemoveFromVersionId: versionId,
        });
      }
      if (mine.includes('AWSPENDING')) {
        await updateStage(secretId, versionId, {
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: versionId,
        }).catch(async (err: unknown) => {
          // Another writer took AWSPENDING meanwhile (adopting the same password): not ours to remove.
          const now = await labelsOf(secretId).catch(() => undefined);
          if (now?.get(versionId)?.includes('AWSPENDING') !== false) throw err;
        });
      }
    },

    async dropPending(secretId, versionId) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      const { mine } = await requireLabels(secretId, versionId);
      if (!mine.includes('AWSPENDING')) return;
      if (mine.includes('AWSCURRENT') && !mine.includes(UNCONFIRMED_LABEL)) {
        // First version of a new secret: AWS will not remove AWSCURRENT, so mark it unconfirmed first.
        await updateStage(secretId, versionId, {
          VersionStage: UNCONFIRMED_LABEL,
          MoveToVersionId: versionId,
        });
      }
      await updateStage(secretId, versionId, { VersionStage: 'AWSPENDING', RemoveFromVersionId: versionId });
    },

    async describe(secretId) {
      assertSecretId(secretId);
      const labels = await labelsOf(secretId);
      if (!labels) return undefined;
      const infos = new Map<string, SecretVersionInfo>();
      let nextToken: string | undefined;
      for (let page = 0; page < 100; page++) {
        const out = await send('ListSecretVersionIds', secretId, undefined, () =>
          client.send(
            new ListSecretVersionIdsCommand({
              SecretId: secretId,
              IncludeDeprecated: true,
              MaxResults: 100,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
        );
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
      await labelsOf(secretId);
    },

    async close() {
      if (ownsClient) client.destroy();
    },
  };
  return store;
}

/** The same token was staged before with another value (AWS's ResourceExistsException). */
function versionExists(secretId: string, token: string): SecretStoreError {
  return new SecretStoreError(
    'conflict',
    `secret ${secretId} already has a version ${token} with a different value`,
    {
      secretId,
      versionId: token,
      code: 'ResourceExistsException',
    },
  );
}
