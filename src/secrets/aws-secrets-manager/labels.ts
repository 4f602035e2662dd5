import type { SecretStage } from '../types.js';

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

/** Every labelled version of a secret and its labels (DescribeSecret's VersionIdsToStages). */
export type LabelMap = ReadonlyMap<string, readonly string[]>;

/** The own staging label of the first version `versionId` (see STAGING_LABEL_PREFIX). */
export function stagingLabel(versionId: string): string {
  return `${STAGING_LABEL_PREFIX}${versionId}`;
}

/** The version holding `label`, if any. */
export function holderOf(all: LabelMap, label: string): string | undefined {
  return [...all].find(([, labels]) => labels.includes(label))?.[0];
}

/** AWSCURRENT on a version nobody confirmed yet (see UNCONFIRMED_LABEL): "no current". */
export function isUnconfirmedCurrent(labels: readonly string[]): boolean {
  return (
    labels.includes('AWSCURRENT') &&
    (labels.includes('AWSPENDING') ||
      labels.includes(UNCONFIRMED_LABEL) ||
      labels.some((l) => l.startsWith(STAGING_LABEL_PREFIX)))
  );
}

/** The first version of a new secret, still pending and not yet marked unconfirmed. */
export function needsUnconfirmedMark(labels: readonly string[]): boolean {
  return (
    labels.includes('AWSCURRENT') && labels.includes('AWSPENDING') && !labels.includes(UNCONFIRMED_LABEL)
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

/**
 * The labels after AWS moved AWSCURRENT from `currentId` (if any) to another version: AWSCURRENT
 * and AWSPREVIOUS come off every version, and the old current gets AWSPREVIOUS.
 */
export function labelsAfterCurrentMove(all: LabelMap, currentId: string | undefined): Map<string, string[]> {
  const after = new Map<string, string[]>();
  for (const [id, labels] of all) {
    after.set(
      id,
      labels.filter((l) => l !== 'AWSPREVIOUS' && l !== 'AWSCURRENT'),
    );
  }
  if (currentId) after.set(currentId, [...(after.get(currentId) ?? []), 'AWSPREVIOUS']);
  return after;
}

/** What a promote takes off another version that was never confirmed, in this order. */
export interface UnconfirmedCleanup {
  /** It holds AWSPREVIOUS, which must not offer it as the previous password. */
  dropPrevious: boolean;
  /** It holds UNCONFIRMED_LABEL, stale once AWSCURRENT is elsewhere. */
  dropUnconfirmed: boolean;
  /** Own staging labels it still wears. */
  stray: string[];
}

/**
 * A version that was never confirmed (a dropped first version, a first version still pending, or
 * one whose stage stopped after its put, still wearing its own label) must not be offered as the
 * previous password; its marks are stale once another version is current.
 */
export function unconfirmedCleanup(labels: readonly string[]): UnconfirmedCleanup {
  const stray = labels.filter((l) => l.startsWith(STAGING_LABEL_PREFIX));
  const unconfirmed = labels.includes(UNCONFIRMED_LABEL) || labels.includes('AWSPENDING') || stray.length > 0;
  return {
    dropPrevious: unconfirmed && labels.includes('AWSPREVIOUS'),
    dropUnconfirmed: labels.includes(UNCONFIRMED_LABEL),
    stray,
  };
}
