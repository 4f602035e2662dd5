import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../../core/clock.js';
import { SecretStoreError } from '../types.js';
import { isCode, isThrottleError, toStoreError } from './errors.js';
import { holderOf } from './labels.js';
import { retryThrottled, type ThrottleRetryOptions } from './throttle-retry.js';

/** The calls that count against AWS's write quota; each try first passes `writeGate`. */
export const WRITE_OPERATIONS = ['PutSecretValue', 'UpdateSecretVersionStage', 'CreateSecret'] as const;
export type WriteOperation = (typeof WRITE_OPERATIONS)[number];

export interface AwsCallOptions {
  kmsKeyId?: string | undefined;
  tags?: Record<string, string> | undefined;
  writeGate?: ((operation: WriteOperation, signal?: AbortSignal) => Promise<void>) | undefined;
  onThrottle?: ((operation: string) => void) | undefined;
  throttleRetry?: ThrottleRetryOptions | undefined;
}

export interface RawVersion {
  versionId: string;
  labels: string[];
  text: string | undefined;
}

export interface PendingState {
  /** False when the secret does not exist. */
  exists: boolean;
  /** Every labelled version and its labels. */
  all: Map<string, string[]>;
  /** The version holding AWSPENDING. */
  holder?: string;
}

export type LabelMove = { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string };

/** The store's AWS calls, each paced and retried on throttle, its errors mapped to the store's. */
export interface AwsCalls {
  readonly client: SecretsManagerClient;
  /** GetSecretValue; undefined on ResourceNotFoundException. */
  fetch(
    secretId: string,
    selector: { VersionStage: string } | { VersionId: string },
  ): Promise<RawVersion | undefined>;
  /** DescribeSecret's labelled versions; undefined when the secret does not exist. */
  labelsOf(secretId: string): Promise<Map<string, string[]> | undefined>;
  /** AWSPENDING's holder and every version's labels; a missing secret has none. */
  pendingHolder(secretId: string): Promise<PendingState>;
  updateStage(secretId: string, versionId: string, input: LabelMove): Promise<void>;
  /** Takes `label` off `versionId`; a label already gone (read back) is fine. */
  removeLabel(secretId: string, versionId: string, label: string): Promise<void>;
  /** CreateSecret without a value; one another writer created meanwhile is fine. */
  createSecret(secretId: string, description: string | undefined): Promise<void>;
  /** PutSecretValue with the SDK's error, unmapped (the caller tells not-found and exists apart). */
  putRaw(secretId: string, token: string, text: string, label: string): Promise<PutSecretValueCommandOutput>;
  /** PutSecretValue, errors mapped (and `secrets` scrubbed from them). */
  put(
    secretId: string,
    token: string,
    text: string,
    label: string,
    secrets: readonly string[],
  ): Promise<PutSecretValueCommandOutput>;
  listVersions(secretId: string, nextToken: string | undefined): Promise<ListSecretVersionIdsCommandOutput>;
}

export function createAwsCalls(
  client: SecretsManagerClient,
  options: AwsCallOptions,
  retryDeps: { clock: Pick<Clock, 'sleep'>; random: () => number },
): AwsCalls {
  const writes = new Set<string>(WRITE_OPERATIONS);

  /**
   * One AWS call. A write first takes a slot of the write quota. A throttle (after the SDK's own
   * attempts) is retried here with backoff, so it costs the rotation nothing; retrying is safe
   * because a throttled request was not carried out, and each write is idempotent anyway:
   * PutSecretValue by its ClientRequestToken (same token, same text: a no-op), a label move or
   * removal by ending in the same labels. Errors are passed on as the SDK threw them.
   */
  function aws<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const gate = writes.has(operation) ? options.writeGate : undefined;
    const onThrottle = options.onThrottle;
    return retryThrottled(
      async () => {
        if (gate) await gate(operation as WriteOperation);
        return call();
      },
      isThrottleError,
      { ...retryDeps, onThrottle: onThrottle && (() => onThrottle(operation)) },
      options.throttleRetry,
    );
  }

  async function send<T>(
    operation: string,
    secretId: string,
    versionId: string | undefined,
    call: () => Promise<T>,
    secrets: readonly string[] = [],
  ): Promise<T> {
    try {
      return await aws(operation, call);
    } catch (err) {
      throw toStoreError(err, { operation, secretId, versionId, secrets });
    }
  }

  async function fetch(
    secretId: string,
    selector: { VersionStage: string } | { VersionId: string },
  ): Promise<RawVersion | undefined> {
    const versionId = 'VersionId' in selector ? selector.VersionId : undefined;
    try {
      const out = await aws('GetSecretValue', () =>
        client.send(new GetSecretValueCommand({ SecretId: secretId, ...selector })),
      );
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

  async function labelsOf(secretId: string): Promise<Map<string, string[]> | undefined> {
    try {
      const out = await aws('DescribeSecret', () =>
        client.send(new DescribeSecretCommand({ SecretId: secretId })),
      );
      return new Map(Object.entries(out.VersionIdsToStages ?? {}));
    } catch (err) {
      if (isCode(err, 'ResourceNotFoundException')) return undefined;
      throw toStoreError(err, { operation: 'DescribeSecret', secretId });
    }
  }

  async function pendingHolder(secretId: string): Promise<PendingState> {
    const labels = await labelsOf(secretId);
    const all = labels ?? new Map<string, string[]>();
    const holder = holderOf(all, 'AWSPENDING');
    return holder === undefined ? { exists: !!labels, all } : { exists: !!labels, all, holder };
  }

  async function updateStage(secretId: string, versionId: string, input: LabelMove): Promise<void> {
    await send('UpdateSecretVersionStage', secretId, versionId, () =>
      client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, ...input })),
    );
  }

  /**
   * AWS answers a removal it cannot do with InvalidParameterException (mapped to kind invalid),
   * but so does a denied or malformed call: only a label that is already gone, read back, is fine.
   */
  async function removeLabel(secretId: string, versionId: string, label: string): Promise<void> {
    try {
      await updateStage(secretId, versionId, { VersionStage: label, RemoveFromVersionId: versionId });
    } catch (err) {
      if (!(err instanceof SecretStoreError && err.kind === 'invalid')) throw err;
      const now = await labelsOf(secretId).catch(() => undefined);
      if (!now || (now.get(versionId) ?? []).includes(label)) throw err;
    }
  }

  async function createSecret(secretId: string, description: string | undefined): Promise<void> {
    try {
      await aws('CreateSecret', () =>
        client.send(
          new CreateSecretCommand({
            Name: secretId,
            // No value: a version created here would become AWSCURRENT before any cloud accepted it.
            ...(description !== undefined ? { Description: description } : {}),
            ...(options.kmsKeyId ? { KmsKeyId: options.kmsKeyId } : {}),
            ...(options.tags
              ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) }
              : {}),
          }),
        ),
      );
    } catch (err) {
      // Another worker created it in the meantime: fine.
      if (!isCode(err, 'ResourceExistsException'))
        throw toStoreError(err, { operation: 'CreateSecret', secretId });
    }
  }

  /** The bare SDK call; `putRaw` and `put` each pass it through the gate and throttle retry once. */
  const putCommand = (secretId: string, token: string, text: string, label: string) =>
    client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: text,
        VersionStages: [label],
      }),
    );

  const putRaw = (secretId: string, token: string, text: string, label: string) =>
    aws('PutSecretValue', () => putCommand(secretId, token, text, label));

  return {
    client,
    fetch,
    labelsOf,
    pendingHolder,
    updateStage,
    removeLabel,
    createSecret,
    putRaw,
    put: (secretId, token, text, label, secrets) =>
      send('PutSecretValue', secretId, token, () => putCommand(secretId, token, text, label), secrets),
    listVersions: (secretId, nextToken) =>
      send('ListSecretVersionIds', secretId, undefined, () =>
        client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            IncludeDeprecated: true,
            MaxResults: 100,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        ),
      ),
  };
}
