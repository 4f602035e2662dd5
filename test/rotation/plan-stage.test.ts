import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STAGE_FACTS, planStage } from '../../src/rotation/plan-stage.js';
import type {
  LoginAnswer,
  ReadFact,
  StageFact,
  StagePlan,
  StageView,
} from '../../src/rotation/plan-stage.js';

/** Three generations of this rotation; `other` is a version id of another rotation. */
const TOKENS = ['own-0', 'own-1', 'own-2'] as const;
const OTHER = 'other-rotation';
const LEASE = 30_000;

const settings = (over: Partial<StageView> = {}): StageView => ({
  tokens: TOKENS,
  loginCheck: true,
  orphanAfterMs: LEASE,
  ...over,
});

/** The labels read and nothing of ours under them: what every staging case starts from. */
const nothingOurs = { current: OTHER + '-current', previous: null } as const;

const cases: { name: string; view: StageView; plan: StagePlan | ReadFact }[] = [
  // What to read next, in the protocol's order.
  { name: 'nothing read: the current label', view: settings(), plan: { case: 'read', fact: 'current' } },
  {
    name: 'current is not ours: the previous label',
    view: settings({ current: 'x' }),
    plan: { case: 'read', fact: 'previous' },
  },
  {
    name: 'no current at all (first rotation of the secret): the previous label',
    view: settings({ current: null }),
    plan: { case: 'read', fact: 'previous' },
  },
  {
    name: 'neither label ours: the pending label',
    view: settings({ ...nothingOurs }),
    plan: { case: 'read', fact: 'pending' },
  },
  {
    name: 'pending not ours: the cluster before anything is staged',
    view: settings({ ...nothingOurs, pending: null }),
    plan: { case: 'read', fact: 'cluster' },
  },
  {
    name: 'cluster can be reset: the versions of this rotation',
    view: settings({ ...nothingOurs, pending: null, cluster: true }),
    plan: { case: 'read', fact: 'versions' },
  },
  {
    name: 'a generation of ours lost its label: log in with the latest',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [0, 1] }),
    plan: { case: 'read', fact: 'login', versionId: 'own-1' },
  },
  {
    name: "another writer's pending version: its age",
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [] }),
    plan: { case: 'read', fact: 'pending-age' },
  },

  // done
  {
    name: 'done: our version is current',
    view: settings({ current: 'own-1' }),
    plan: { case: 'done', label: 'current', versionId: 'own-1', generation: 1 },
  },
  {
    name: 'done: our version was promoted and superseded',
    view: settings({ current: 'x', previous: 'own-0' }),
    plan: { case: 'done', label: 'previous', versionId: 'own-0', generation: 0 },
  },
  {
    name: 'done wins over a pending version, read or not',
    view: settings({ current: 'own-2', pending: OTHER }),
    plan: { case: 'done', label: 'current', versionId: 'own-2', generation: 2 },
  },

  // reuse
  {
    name: 'reuse: our pending version, without asking the cluster',
    view: settings({ ...nothingOurs, pending: 'own-2' }),
    plan: { case: 'reuse', versionId: 'own-2', generation: 2 },
  },

  // adopt / busy
  {
    name: 'adopt at once without an orphan time',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [], orphanAfterMs: undefined }),
    plan: { case: 'adopt', from: OTHER, generation: 0 },
  },
  {
    name: 'adopt an orphaned version (as old as the lease) as the next generation',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [0], pendingAgeMs: LEASE }),
    plan: { case: 'adopt', from: OTHER, generation: 1 },
  },
  {
    name: 'adopt a version whose creation date the store does not give',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [], pendingAgeMs: null }),
    plan: { case: 'adopt', from: OTHER, generation: 0 },
  },
  {
    name: 'adopt with no generation left: exhausted (the caller keeps the version)',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [2], pendingAgeMs: LEASE }),
    plan: { case: 'adopt', from: OTHER, generation: 'exhausted' },
  },
  {
    name: 'adopt without asking the login, even with a lost generation of ours',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [0], pendingAgeMs: null }),
    plan: { case: 'adopt', from: OTHER, generation: 1 },
  },
  {
    name: 'busy: the other writer may still be at work',
    view: settings({ ...nothingOurs, pending: OTHER, cluster: true, versions: [], pendingAgeMs: 10_000 }),
    plan: { case: 'busy', pending: OTHER, ageMs: 10_000, retryAfterMs: 20_000 },
  },

  // restage
  {
    name: 'restage: the cluster accepts a generation that lost its label',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [0, 1], login: 'accepted' }),
    plan: { case: 'restage', from: 'own-1', fromGeneration: 1, generation: 2 },
  },
  {
    name: 'restage with no generation left: exhausted',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [2], login: 'accepted' }),
    plan: { case: 'restage', from: 'own-2', fromGeneration: 2, generation: 'exhausted' },
  },

  // fresh
  {
    name: 'fresh: first generation',
    view: settings({ current: null, previous: null, pending: null, cluster: true, versions: [] }),
    plan: { case: 'fresh', generation: 0 },
  },
  {
    name: 'fresh: the login refuses the lost generation (it was rejected)',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [0], login: 'refused' }),
    plan: { case: 'fresh', generation: 1 },
  },
  {
    name: 'fresh: the login cannot tell',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [0, 1], login: 'unknown' }),
    plan: { case: 'fresh', generation: 2 },
  },
  {
    name: 'fresh: no login configured, past the lost generation',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [1], loginCheck: false }),
    plan: { case: 'fresh', generation: 2 },
  },
  {
    name: 'fresh with no generation left: exhausted',
    view: settings({ ...nothingOurs, pending: null, cluster: true, versions: [0, 1, 2], loginCheck: false }),
    plan: { case: 'fresh', generation: 'exhausted' },
  },
];

describe('planStage', () => {
  it.each(cases)('$name', ({ view, plan }) => {
    expect(planStage(view)).toEqual(plan);
  });

  it('covers every case of the protocol and every fact', () => {
    const seen = new Set(cases.map(({ plan }) => (plan.case === 'read' ? plan.fact : plan.case)));
    for (const name of ['done', 'reuse', 'adopt', 'busy', 'restage', 'fresh', ...STAGE_FACTS]) {
      expect(seen, name).toContain(name);
    }
  });
});

/** A store and a cluster as stage could find them; labels are own generations or other versions. */
interface World {
  generations: number;
  loginCheck: boolean;
  orphanAfterMs: number | undefined;
  current: string | null;
  previous: string | null;
  pending: string | null;
  /** Generations of ours in the store, besides any under a label. */
  unlabelled: number[];
  login: LoginAnswer;
  pendingAgeMs: number | null;
}

const world: fc.Arbitrary<World> = fc.integer({ min: 1, max: 5 }).chain((generations) => {
  const gen = fc.integer({ min: 0, max: generations - 1 });
  const label = fc.oneof(
    fc.constant(null),
    fc.constantFrom('other-a', 'other-b'),
    gen.map((g) => `own-${g}`),
  );
  return fc.record({
    generations: fc.constant(generations),
    loginCheck: fc.boolean(),
    orphanAfterMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
    current: label,
    previous: label,
    pending: label,
    unlabelled: fc.uniqueArray(gen, { maxLength: generations }),
    login: fc.constantFrom<LoginAnswer>('accepted', 'refused', 'unknown'),
    pendingAgeMs: fc.option(fc.integer({ min: -5_000, max: 120_000 }), { nil: null }),
  });
});

const ownGeneration = (versionId: string | null): number | undefined =>
  versionId?.startsWith('own-') ? Number(versionId.slice(4)) : undefined;

/** Our generations in the store: the unlabelled ones and any under a label. */
function ownVersions(w: World): number[] {
  const labelled = [w.current, w.previous, w.pending].map((v) => ownGeneration(v));
  const all = new Set([...w.unlabelled, ...labelled.filter((g) => g !== undefined)]);
  return [...all].sort((a, b) => a - b);
}

/** Runs planStage as stage does, answering each read from the world; returns the plan and the reads. */
function drive(w: World): { plan: StagePlan; reads: StageFact[] } {
  const view: StageView = {
    tokens: Array.from({ length: w.generations }, (_, g) => `own-${g}`),
    loginCheck: w.loginCheck,
    orphanAfterMs: w.orphanAfterMs,
  };
  const reads: StageFact[] = [];
  for (;;) {
    const next = planStage(view);
    if (next.case !== 'read') return { plan: next, reads };
    if (reads.includes(next.fact)) throw new Error(`read ${next.fact} twice`);
    reads.push(next.fact);
    switch (next.fact) {
      case 'current':
        view.current = w.current;
        break;
      case 'previous':
        view.previous = w.previous;
        break;
      case 'pending':
        view.pending = w.pending;
        break;
      case 'cluster':
        view.cluster = true;
        break;
      case 'versions':
        view.versions = ownVersions(w);
        break;
      case 'login':
        expect(next.versionId).toBe(`own-${Math.max(...ownVersions(w))}`);
        view.login = w.login;
        break;
      case 'pending-age':
        view.pendingAgeMs = w.pendingAgeMs;
        break;
    }
  }
}

describe('planStage (property)', () => {
  it('reads each fact at most once, in the protocol order', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { reads } = drive(w);
        const order = reads.map((f) => STAGE_FACTS.indexOf(f));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }),
      { numRuns: 2000 },
    );
  });

  it('never stages a fresh password while a pending version (which the cloud may hold) exists', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        if (w.pending !== null) expect(plan.case).not.toBe('fresh');
      }),
      { numRuns: 2000 },
    );
  });

  it('never discards a version the cloud may hold: a pending version is reused, adopted or waited for', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        if (w.pending === null || plan.case === 'done') return;
        if (ownGeneration(w.pending) !== undefined) {
          expect(plan).toEqual({ case: 'reuse', versionId: w.pending, generation: ownGeneration(w.pending) });
        } else {
          expect(['adopt', 'busy']).toContain(plan.case);
          if (plan.case === 'adopt') expect(plan.from).toBe(w.pending);
          if (plan.case === 'busy') expect(plan.pending).toBe(w.pending);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never stages over a version of this rotation: a new generation is past every one in the store', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        if (plan.case !== 'adopt' && plan.case !== 'restage' && plan.case !== 'fresh') return;
        const latest = Math.max(-1, ...ownVersions(w));
        if (latest + 1 >= w.generations) expect(plan.generation).toBe('exhausted');
        else expect(plan.generation).toBe(latest + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('asks the cluster before staging anything, and not at all for done or reuse', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan, reads } = drive(w);
        const stages = plan.case !== 'done' && plan.case !== 'reuse';
        expect(reads.includes('cluster')).toBe(stages);
      }),
      { numRuns: 2000 },
    );
  });

  it('is done exactly when a version of this rotation is current or previous', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        const ours = ownGeneration(w.current) ?? ownGeneration(w.previous);
        expect(plan.case === 'done').toBe(ours !== undefined);
      }),
      { numRuns: 2000 },
    );
  });

  it('restages only a password the cluster accepts, and only with nothing pending', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        if (plan.case !== 'restage') return;
        expect(w.loginCheck && w.login === 'accepted' && w.pending === null).toBe(true);
        expect(plan.from).toBe(`own-${Math.max(...ownVersions(w))}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('is busy only while another writer’s pending version is younger than the orphan time', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { plan } = drive(w);
        if (plan.case !== 'busy') return;
        expect(w.orphanAfterMs).toBeDefined();
        expect(w.pendingAgeMs).not.toBeNull();
        expect(w.pendingAgeMs!).toBeLessThan(w.orphanAfterMs!);
        expect(plan.retryAfterMs).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
