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
import { type Clock, systemClock } from '../../core/clock.js';
import { cryptoRandom } from '../../core/random.js';
import { sensitiveParts } from '../format.js';
import { assertSecretId, assertSecretText, assertToken } from '../value.js';
import { isCode, isThrottleError, toStoreError } from './errors.js';
import { StoreRetryStrategy } from './sdk-retry.js';
import { retryThrottled, type ThrottleRetryOptions } from './throttle-retry.js';

/** The calls that count against AWS's write quota; each try first passes `writeGate`. */
export const WRITE_OPERATIONS = ['PutSecretValue', 'UpdateSecretVersionStage', 'CreateSecret'] as const;
export type WriteOperation = (typeof WRITE_OPERATIONS)[number];

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
  /**
   * Waits for a slot of the account's write quota (a limiter shared by every worker) before each
   * try of a write (WRITE_OPERATIONS). Reads pass freely.
   */
  writeGate?: ((operation: WriteOperation, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Told of every throttled call (after the SDK's own attempts), to count it. */
  onThrottle?: ((operation: string) => void) | undefined;
  /** How long a throttled call is retried inside the store call (default up to 60 s in all). */
  throttleRetry?: ThrottleRetryOptions | undefined;
  /** Sleeps between throttle retries. */
  clock?: Pick<Clock, 'sleep'> | undefined;
  /** Jitter of the throttle backoff, uniform in [0, 1). */
  random?: (() => number) | undefined;
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
 * Under compare-and-set (StageOptions.expectPending) a new version is never put with AWSPENDING:
 * PutSecretValue moves any label it names silently, but needs at least one (without any it moves
 * AWSCURRENT). UpdateSecretVersionStage then moves AWSPENDING onto it, which AWS refuses while
 * another version holds AWSPENDING unless RemoveFromVersionId names that version: the store's own
 * compare-and-set.
 *
 * The first version of a secret is put with a label of its own, `ROTATOR_STAGING-<version id>`:
 * AWS makes that version AWSCURRENT whatever it is put with, and while the own label is on, it
 * counts as unconfirmed (never current, never previous). The own label comes off once the version
 * holds AWSPENDING (which keeps it unconfirmed).
 */
export const STAGING_LABEL_PREFIX = 'ROTATOR_STAGING-';

/**
 * Every later version is put with this shared label, which means nothing at all: it only stands in
 * for the one label PutSecretValue needs. The next put moves it on silently, so it never has to be
 * removed (one write per rotation less than an own label); a version that lost it to another
 * writer's put is unlabelled until it takes AWSPENDING, which is harmless (AWS keeps unlabelled
 * versions younger than 24 h).
 */
export const PUT_LABEL = 'ROTATOR_PUT';

const STANDARD_STAGES = new Set<string>(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);

function isUnconfirmedCurrent(labels: readonly string[]): boolean {
  return (
    labels.includes('AWSCURRENT') &&
    (labels.includes('AWSPENDING') ||
      labels.includes(UNCONFIRMED_LABEL) ||
      labels.some((l) => l.startsWith(STAGING_LABEL_PREFIX)))
  );
}

/**
 * The stages as the SecretStore contract sees them (see UNCONFIRMED_LABEL): a version that is
 * unconfirmed, carries an own staging label (a stage stopped after its put), or is still pending is
 * neither current nor previous, whatever AWS moved onto it.
 */
export function visibleStages(labels: readonly string[]): SecretStage[] {
  const hidden =
    isUnconfirmedCurrent(labels) ||
    labels.includes(UNCONFIRMED_LABEL) ||
    labels.includes('AWSPENDING') ||
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
  const writes = new Set<string>(WRITE_OPERATIONS);
  const retryDeps = { clock: options.clock ?? systemClock, random: options.random ?? cryptoRandom.float };
  const client =
    options.client ??
    new SecretsManagerClient({
      ...options.clientConfig,
      // Throttles are retried by the store, each try through the write gate (sdk-retry.ts).
      retryStrategy:
        options.clientConfig?.retryStrategy ?? new StoreRetryStrategy(options.clientConfig?.maxAttempts ?? 3),
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  const create = options.create ?? true;

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

  /** GetSecretValue; undefined on ResourceNotFoundException. */
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
      const out = await aws('DescribeSecret', () =>
        client.send(new DescribeSecretCommand({ SecretId: secretId })),
      );
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

  interface PendingState {
    /** False when the secret does not exist. */
    exists: boolean;
    /** Every labelled version and its labels. */
    all: Map<string, string[]>;
    /** The version holding AWSPENDING. */
    holder?: string;
  }

  /** AWSPENDING's holder and every version's labels; a missing secret has none. */
  async function pendingHolder(secretId: string): Promise<PendingState> {
    const labels = await labelsOf(secretId);
    const all = labels ?? new Map<string, string[]>();
    const holder = [...all].find(([, l]) => l.includes('AWSPENDING'))?.[0];
    return holder === undefined ? { exists: !!labels, all } : { exists: !!labels, all, holder };
  }

  function pendingTaken(secretId: string, token: string, holder: string | undefined): SecretStoreError {
    return new SecretStoreError(
      'conflict',
      `secret ${secretId}: version ${holder ?? '(unknown)'} of another writer holds AWSPENDING`,
      { secretId, versionId: token, code: PENDING_TAKEN },
    );
  }

  /**
   * Takes `label` off `versionId`. AWS answers a removal it cannot do with InvalidParameterException
   * (mapped to kind invalid), but so does a denied or malformed call: only a label that is already
   * gone, read back, is fine.
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

  /**
   * Moves AWSPENDING onto `token` only from `expect` (or from no version), then takes the version's
   * own staging label off, if it has one. AWS refuses the move when another version holds the label
   * and is not named by RemoveFromVersionId: that refusal is the compare-and-set. `known` is the
   * state read just before the version was put: then the move needs no re-read, as the move itself
   * checks that AWSPENDING is still where it was.
   */
  async function takePending(
    secretId: string,
    token: string,
    expect: string | null,
    known?: PendingState,
  ): Promise<void> {
    let state = known ?? (await pendingHolder(secretId));
    if (known && state.holder !== undefined && (state.all.get(state.holder) ?? []).includes('AWSCURRENT')) {
      // Adopting a first version below marks it first: that mark must rest on a fresh read.
      state = await pendingHolder(secretId);
    }
    const { all, holder } = state;
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
    if ((all.get(token) ?? []).includes(own)) await removeLabel(secretId, token, own);
  }

  /**
   * PutSecretValue of a new version carrying `label`; a secret that does not exist yet (`missing`:
   * known from a read just before, else learnt from the put) is created first when `store.create`
   * allows it. Resolves with the labels AWS reports on the version.
   */
  async function putVersion(
    secretId: string,
    token: string,
    text: string,
    label: string,
    secrets: readonly string[],
    description: string | undefined,
    missing = false,
  ): Promise<string[]> {
    const put = () =>
      aws('PutSecretValue', () =>
        client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: text,
            VersionStages: [label],
          }),
        ),
      );
    const notFound = () =>
      new SecretStoreError(
        'not-found',
        `cannot stage version ${token}: secret ${secretId} does not exist and store.create is false; create it first`,
        { secretId, versionId: token, code: 'ResourceNotFoundException' },
      );
    if (missing) {
      if (!create) throw notFound();
      await createSecret(secretId, description);
    }
    try {
      return (await put()).VersionStages ?? [label];
    } catch (err) {
      if (isCode(err, 'ResourceExistsException')) throw versionExists(secretId, token);
      if (!isCode(err, 'ResourceNotFoundException') || missing) {
        throw toStoreError(err, { operation: 'PutSecretValue', secretId, versionId: token, secrets });
      }
      if (!create) throw notFound();
      await createSecret(secretId, description);
      return (await send('PutSecretValue', secretId, token, put, secrets)).VersionStages ?? [label];
    }
  }

  /** stagePending under compare-and-set: put with a stand-in label, then take AWSPENDING by CAS. */
  async function stageWithCas(
    secretId: string,
    token: string,
    text: string,
    secrets: readonly string[],
    expect: string | null,
    description: string | undefined,
  ): Promise<void> {
    // Fail early, before a version is written, when the label is visibly someone else's.
    const state = await pendingHolder(secretId);
    if (state.holder !== undefined && state.holder !== expect)
      throw pendingTaken(secretId, token, state.holder);
    // No version yet: AWS makes this one AWSCURRENT, so it needs its own label (STAGING_LABEL_PREFIX).
    const first = state.all.size === 0;
    const label = first ? `${STAGING_LABEL_PREFIX}${token}` : PUT_LABEL;
    const labels = await putVersion(secretId, token, text, label, secrets, description, !state.exists);
    if (!first && labels.includes('AWSCURRENT')) {
      // The secret was deleted and made anew since we read it: this is its first version after all.
      await updateStage(secretId, token, { VersionStage: UNCONFIRMED_LABEL, MoveToVersionId: token });
      labels.push(UNCONFIRMED_LABEL);
    }
    await takePending(secretId, token, expect, { ...state, all: new Map([...state.all, [token, labels]]) });
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
          // Put, but stopped before it took AWSPENDING or lost its own label: finish that.
          const unfinished =
            !existing.labels.includes('AWSPENDING') ||
            existing.labels.includes(`${STAGING_LABEL_PREFIX}${token}`);
          if (opts?.expectPending !== undefined && unfinished) {
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
      return raw && visibleStages(raw.labels).includes('AWSPREVIOUS') ? toVersion(secretId, raw) : undefined;
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
      // A version that was never confirmed (a dropped first version, a first version still
      // pending, or one whose stage stopped after its put, still wearing its own label) must not be
      // offered as the previous password. Checked on every version, so that a re-run also cleans up
      // after a promote that stopped between its calls.
      for (const [id, labels] of after) {
        if (id === versionId) continue;
        const stray = labels.filter((l) => l.startsWith(STAGING_LABEL_PREFIX));
        const unconfirmed =
          labels.includes(UNCONFIRMED_LABEL) || labels.includes('AWSPENDING') || stray.length > 0;
        if (unconfirmed && labels.includes('AWSPREVIOUS')) {
          await updateStage(secretId, id, { VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: id });
        }
        if (labels.includes(UNCONFIRMED_LABEL)) {
          await updateStage(secretId, id, { VersionStage: UNCONFIRMED_LABEL, RemoveFromVersionId: id });
        }
        // An own label only hides a first version that AWS made current; this one no longer is
        // (AWSCURRENT is ours now) and no longer previous, so the label is stale even if its writer
        // is still at work: that writer can still take AWSPENDING onto the version by its id.
        for (const label of stray) await removeLabel(secretId, id, label);
      }
      // Our own label, if a stage stopped right before taking it off.
      const own = `${STAGING_LABEL_PREFIX}${versionId}`;
      if (mine.includes(own)) await removeLabel(secretId, versionId, own);
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
