import type { SecretStore } from '../types.js';
import { SecretStoreError } from '../types.js';
import { sensitiveParts } from '../format.js';
import { assertSecretId, assertSecretText, assertToken } from '../value.js';
import type { AwsCalls, PendingState } from './calls.js';
import { pendingTaken, versionExists } from './conflicts.js';
import { isCode, toStoreError } from './errors.js';
import { needsUnconfirmedMark, PUT_LABEL, stagingLabel, UNCONFIRMED_LABEL } from './labels.js';

/** stagePending: put a new version and make it AWSPENDING, plain or under compare-and-set. */
export function createStaging(aws: AwsCalls, create: boolean): SecretStore['stagePending'] {
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
    let state = known ?? (await aws.pendingHolder(secretId));
    if (known && state.holder !== undefined && (state.all.get(state.holder) ?? []).includes('AWSCURRENT')) {
      // Adopting a first version below marks it first: that mark must rest on a fresh read.
      state = await aws.pendingHolder(secretId);
    }
    const { all, holder } = state;
    if (holder !== token) {
      if (holder !== undefined && holder !== expect) throw pendingTaken(secretId, token, holder);
      const first = holder !== undefined ? all.get(holder) : undefined;
      if (first && needsUnconfirmedMark(first)) {
        // Adopting the pending first version of a new secret: it must stay unconfirmed.
        await aws.updateStage(secretId, holder!, {
          VersionStage: UNCONFIRMED_LABEL,
          MoveToVersionId: holder!,
        });
      }
      try {
        await aws.updateStage(secretId, token, {
          VersionStage: 'AWSPENDING',
          MoveToVersionId: token,
          ...(holder !== undefined ? { RemoveFromVersionId: holder } : {}),
        });
      } catch (err) {
        // Refused: someone moved AWSPENDING since we looked. Anything else is passed on.
        const now = await aws.pendingHolder(secretId).catch(() => undefined);
        if (now && now.holder !== token && now.holder !== holder)
          throw pendingTaken(secretId, token, now.holder);
        throw err;
      }
    }
    const own = stagingLabel(token);
    if ((all.get(token) ?? []).includes(own)) await aws.removeLabel(secretId, token, own);
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
    const notFound = () =>
      new SecretStoreError(
        'not-found',
        `cannot stage version ${token}: secret ${secretId} does not exist and store.create is false; create it first`,
        { secretId, versionId: token, code: 'ResourceNotFoundException' },
      );
    if (missing) {
      if (!create) throw notFound();
      await aws.createSecret(secretId, description);
    }
    try {
      return (await aws.putRaw(secretId, token, text, label)).VersionStages ?? [label];
    } catch (err) {
      if (isCode(err, 'ResourceExistsException')) throw versionExists(secretId, token);
      if (!isCode(err, 'ResourceNotFoundException') || missing) {
        throw toStoreError(err, { operation: 'PutSecretValue', secretId, versionId: token, secrets });
      }
      if (!create) throw notFound();
      await aws.createSecret(secretId, description);
      return (await aws.put(secretId, token, text, label, secrets)).VersionStages ?? [label];
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
    const state = await aws.pendingHolder(secretId);
    if (state.holder !== undefined && state.holder !== expect)
      throw pendingTaken(secretId, token, state.holder);
    // No version yet: AWS makes this one AWSCURRENT, so it needs its own label (STAGING_LABEL_PREFIX).
    const first = state.all.size === 0;
    const label = first ? stagingLabel(token) : PUT_LABEL;
    const labels = await putVersion(secretId, token, text, label, secrets, description, !state.exists);
    if (!first && labels.includes('AWSCURRENT')) {
      // The secret was deleted and made anew since we read it: this is its first version after all.
      await aws.updateStage(secretId, token, { VersionStage: UNCONFIRMED_LABEL, MoveToVersionId: token });
      labels.push(UNCONFIRMED_LABEL);
    }
    await takePending(secretId, token, expect, { ...state, all: new Map([...state.all, [token, labels]]) });
  }

  return async function stagePending(secretId, token, text, opts) {
    assertSecretId(secretId);
    assertToken(secretId, token);
    assertSecretText(secretId, text, token);
    const secrets = sensitiveParts(text);
    const existing = await aws.fetch(secretId, { VersionId: token });
    if (existing) {
      if (existing.text === text) {
        // Put, but stopped before it took AWSPENDING or lost its own label: finish that.
        const unfinished =
          !existing.labels.includes('AWSPENDING') || existing.labels.includes(stagingLabel(token));
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
    const labels = await aws.labelsOf(secretId);
    if (labels) {
      // Staging moves AWSPENDING away: an unconfirmed first version must keep its mark.
      for (const [versionId, l] of labels) {
        if (needsUnconfirmedMark(l)) {
          await aws.updateStage(secretId, versionId, {
            VersionStage: UNCONFIRMED_LABEL,
            MoveToVersionId: versionId,
          });
        }
      }
    } else if (create) {
      await aws.createSecret(secretId, opts?.description);
    }
    await putVersion(secretId, token, text, 'AWSPENDING', secrets, opts?.description);
    return { created: true };
  };
}
