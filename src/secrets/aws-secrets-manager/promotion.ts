import { PENDING_LOST, SecretStoreError, type SecretStore } from '../types.js';
import { assertSecretId, assertToken } from '../value.js';
import type { AwsCalls } from './calls.js';
import { currentChanged } from './conflicts.js';
import {
  holderOf,
  isUnconfirmedCurrent,
  labelsAfterCurrentMove,
  stagingLabel,
  unconfirmedCleanup,
  UNCONFIRMED_LABEL,
} from './labels.js';

/** promote and dropPending: the label moves that end (or drop) a pending version. */
export function createPromotion(aws: AwsCalls): Pick<SecretStore, 'promote' | 'dropPending'> {
  /** Labels of `versionId`, [] for an existing unlabelled version; throws not-found otherwise. */
  async function requireLabels(
    secretId: string,
    versionId: string,
  ): Promise<{ all: Map<string, string[]>; mine: string[] }> {
    const all = await aws.labelsOf(secretId);
    if (!all) {
      throw new SecretStoreError('not-found', `secret ${secretId} does not exist`, { secretId, versionId });
    }
    const mine = all.get(versionId);
    if (mine) return { all, mine };
    if (!(await aws.fetch(secretId, { VersionId: versionId }))) {
      throw new SecretStoreError('not-found', `secret ${secretId} has no version ${versionId}`, {
        secretId,
        versionId,
      });
    }
    return { all, mine: [] };
  }

  return {
    async promote(secretId, versionId, opts) {
      assertSecretId(secretId);
      assertToken(secretId, versionId);
      const { all, mine } = await requireLabels(secretId, versionId);
      const currentId = holderOf(all, 'AWSCURRENT');
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
          await aws.updateStage(secretId, versionId, {
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            ...(currentId ? { RemoveFromVersionId: currentId } : {}),
          });
        } catch (err) {
          const now = await aws.labelsOf(secretId).catch(() => undefined);
          const holder = now && holderOf(now, 'AWSCURRENT');
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
      let after = new Map(all);
      if (currentId !== versionId) {
        // (Under compare-and-set the move above was this call.)
        if (expect === undefined) {
          await aws.updateStage(secretId, versionId, {
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            ...(currentId ? { RemoveFromVersionId: currentId } : {}),
          });
        }
        // What AWS did: AWSCURRENT moved here, AWSPREVIOUS moved to the old current.
        after = labelsAfterCurrentMove(all, currentId);
      }
      // Checked on every version, so that a re-run also cleans up after a promote that stopped
      // between its calls.
      for (const [id, labels] of after) {
        if (id === versionId) continue;
        const cleanup = unconfirmedCleanup(labels);
        if (cleanup.dropPrevious) {
          await aws.updateStage(secretId, id, { VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: id });
        }
        if (cleanup.dropUnconfirmed) {
          await aws.updateStage(secretId, id, { VersionStage: UNCONFIRMED_LABEL, RemoveFromVersionId: id });
        }
        // An own label only hides a first version that AWS made current; this one no longer is
        // (AWSCURRENT is ours now) and no longer previous, so the label is stale even if its writer
        // is still at work: that writer can still take AWSPENDING onto the version by its id.
        for (const label of cleanup.stray) await aws.removeLabel(secretId, id, label);
      }
      // Our own label, if a stage stopped right before taking it off.
      const own = stagingLabel(versionId);
      if (mine.includes(own)) await aws.removeLabel(secretId, versionId, own);
      if (mine.includes(UNCONFIRMED_LABEL)) {
        await aws.updateStage(secretId, versionId, {
          VersionStage: UNCONFIRMED_LABEL,
          RemoveFromVersionId: versionId,
        });
      }
      if (mine.includes('AWSPENDING')) {
        await aws
          .updateStage(secretId, versionId, {
            VersionStage: 'AWSPENDING',
            RemoveFromVersionId: versionId,
          })
          .catch(async (err: unknown) => {
            // Another writer took AWSPENDING meanwhile (adopting the same password): not ours to remove.
            const now = await aws.labelsOf(secretId).catch(() => undefined);
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
        await aws.updateStage(secretId, versionId, {
          VersionStage: UNCONFIRMED_LABEL,
          MoveToVersionId: versionId,
        });
      }
      await aws.updateStage(secretId, versionId, {
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: versionId,
      });
    },
  };
}
