/**
 * The decision of the stage step (rotation-protocol.md, "Re-running after an interruption"), as a
 * pure function of what the store and the cloud have shown so far. No IO, no passwords: a view
 * holds version ids and answers, the caller keeps the texts.
 *
 * The caller reads one fact at a time, in the order below, and asks again after each: a fact is
 * read only while the facts before it leave the case open. A re-run that finds its own pending
 * version, for one, never asks the cluster anything before `ready`.
 */

/** What the stage step can read, in the order it reads it. */
export const STAGE_FACTS = [
  'current',
  'previous',
  'pending',
  'cluster',
  'versions',
  'login',
  'pending-age',
] as const;
export type StageFact = (typeof STAGE_FACTS)[number];

/** A data-plane login's answer: accepted, refused, or no answer (the login call failed). */
export type LoginAnswer = 'accepted' | 'refused' | 'unknown';

/**
 * What stage knows. The settings come first; every fact is `undefined` until it is read, and
 * `null` when it was read and there is none.
 */
export interface StageView {
  /** The version ids of this rotation, generation 0 first (generationTokens); as many as it may have. */
  tokens: readonly string[];
  /** A data-plane login is configured. */
  loginCheck: boolean;
  /**
   * Another writer's pending version younger than this (ms) makes the target busy; an older one is
   * orphaned and adopted. Undefined: adopted at once (pendingOrphanAfterMs).
   */
  orphanAfterMs: number | undefined;

  /** Version id labelled AWSCURRENT. */
  current?: string | null;
  /** Version id labelled AWSPREVIOUS. */
  previous?: string | null;
  /** Version id labelled AWSPENDING. */
  pending?: string | null;
  /** The cluster's status was read and its password can be reset (a cluster that cannot stops the read). */
  cluster?: true;
  /** The generations of this rotation that exist in the store, whatever their labels. */
  versions?: readonly number[];
  /** The data-plane login with the password of the latest of those generations. */
  login?: LoginAnswer;
  /** Age (ms) of the pending version by its creation date; null when the store does not say. */
  pendingAgeMs?: number | null;
}

/** The next generation to stage, or none left: the cloud rejected as many passwords as it may. */
export type NextGeneration = number | 'exhausted';

/** What stage does: the cases of rotation-protocol.md. */
export type StagePlan =
  /** A version of this rotation is current, or was and has been superseded: nothing to do. */
  | { case: 'done'; label: 'current' | 'previous'; versionId: string; generation: number }
  /** A pending version of this rotation: its password is reused, never replaced. */
  | { case: 'reuse'; versionId: string; generation: number }
  /** Another rotation's pending version, orphaned: copied into `generation` and rolled forward. */
  | { case: 'adopt'; from: string; generation: NextGeneration }
  /** Another writer's pending version, younger than the orphan time: its writer may still be at work. */
  | { case: 'busy'; pending: string; ageMs: number; retryAfterMs: number }
  /**
   * A generation of ours lost its pending label, yet the cluster accepts its password: staged
   * again as `generation` and rolled forward.
   */
  | { case: 'restage'; from: string; fromGeneration: number; generation: NextGeneration }
  /** Nothing of ours is pending, and nothing pending at all: a fresh password as `generation`. */
  | { case: 'fresh'; generation: NextGeneration };

/** Not a case of the protocol: the plan depends on a fact not read yet. */
export type ReadFact =
  | { case: 'read'; fact: Exclude<StageFact, 'login'> }
  /** Log in with the password of this version (the latest generation of ours in the store). */
  | { case: 'read'; fact: 'login'; versionId: string };

export function planStage(view: StageView): StagePlan | ReadFact {
  const read = (fact: Exclude<StageFact, 'login'>): ReadFact => ({ case: 'read', fact });
  const ownGeneration = (versionId: string | null): number | undefined => {
    if (versionId === null) return undefined;
    const generation = view.tokens.indexOf(versionId);
    return generation === -1 ? undefined : generation;
  };

  if (view.current === undefined) return read('current');
  const currentGen = ownGeneration(view.current);
  if (view.current !== null && currentGen !== undefined) {
    return { case: 'done', label: 'current', versionId: view.current, generation: currentGen };
  }
  if (view.previous === undefined) return read('previous');
  const previousGen = ownGeneration(view.previous);
  if (view.previous !== null && previousGen !== undefined) {
    return { case: 'done', label: 'previous', versionId: view.previous, generation: previousGen };
  }
  if (view.pending === undefined) return read('pending');
  const pendingGen = ownGeneration(view.pending);
  if (view.pending !== null && pendingGen !== undefined) {
    return { case: 'reuse', versionId: view.pending, generation: pendingGen };
  }

  // Everything below stages a version: a cluster whose password cannot be reset stops first.
  if (view.cluster === undefined) return read('cluster');
  if (view.versions === undefined) return read('versions');
  // A generation of ours that is neither current, previous nor pending lost its pending label. The
  // stores let that happen only through dropPending, which a run calls only for a password the cloud
  // rejected and certainly does not hold; so the next generation is one past the latest.
  const latest = view.versions.length === 0 ? undefined : Math.max(...view.versions);
  const next = latest === undefined ? 0 : latest + 1;
  const generation: NextGeneration = next < view.tokens.length ? next : 'exhausted';

  if (view.pending === null && latest !== undefined && view.loginCheck) {
    // Trust that, but check it where we can: if the cluster accepts the latest such password, a
    // store fault lost its label after the cloud took it. Roll it forward, never replace it.
    if (view.login === undefined) return { case: 'read', fact: 'login', versionId: view.tokens[latest]! };
    if (view.login === 'accepted') {
      return { case: 'restage', from: view.tokens[latest]!, fromGeneration: latest, generation };
    }
  }
  if (view.pending !== null) {
    if (view.orphanAfterMs !== undefined) {
      if (view.pendingAgeMs === undefined) return read('pending-age');
      const age = view.pendingAgeMs;
      if (age !== null && age < view.orphanAfterMs) {
        return { case: 'busy', pending: view.pending, ageMs: age, retryAfterMs: view.orphanAfterMs - age };
      }
    }
    // Another rotation stopped with this version pending: the cloud may hold it.
    return { case: 'adopt', from: view.pending, generation };
  }
  return { case: 'fresh', generation };
}
