import { ERROR_KINDS } from '../../src/providers/errors.js';
import type { ErrorKind } from '../../src/providers/errors.js';
import { VERIFY_ATTEMPTS } from '../../src/rotation/rotate.js';
import type { RotationErrorKind } from '../../src/rotation/types.js';
import type { ArmedFault, Fault, Site } from './harness.js';

/** The interruption matrix as data: which faults can physically happen at which site. */
const PROVIDER: Fault[] = ERROR_KINDS.map((kind) => ({ type: 'provider', kind }));
/** A reset whose reply was lost or garbled after the cluster took the password. */
const AMBIGUOUS: Fault[] = (['unknown-outcome', 'bad-response'] as const).map((kind) => ({
  type: 'provider',
  kind,
}));
const PROCESS: Fault[] = [{ type: 'crash' }, { type: 'abort' }, { type: 'kill' }];
const STORE: Fault[] = [
  { type: 'store', kind: 'unavailable' },
  { type: 'store', kind: 'throttled' },
];

/** Sites a first run reaches, in order, with the faults that can hit each (the step boundaries). */
export const FIRST_RUN_SITES: [Site, Fault[]][] = [
  ['stage.read', [...STORE, ...PROCESS]],
  ['stage.write:before', [...STORE, ...PROCESS]],
  ['stage.write:after', [...STORE, ...PROCESS]],
  ['onStep:stage', PROCESS],
  ['ready.status', [...PROVIDER, ...PROCESS, { type: 'cluster-failed' }, { type: 'stuck' }]],
  ['onStep:ready', PROCESS],
  ['apply.reset:before', [...PROVIDER, ...PROCESS]],
  ['apply.reset:after', [...AMBIGUOUS, ...PROCESS]],
  ['onStep:apply', PROCESS],
  ['settle.status', [...PROVIDER, ...PROCESS, { type: 'cluster-failed' }, { type: 'stuck' }]],
  ['onStep:settle', PROCESS],
  ['verify.login', [{ type: 'refuse', times: 1 }, { type: 'refuse', times: VERIFY_ATTEMPTS }, ...PROCESS]],
  ['onStep:verify', PROCESS],
  ['promote.write:before', [...STORE, ...PROCESS]],
  ['promote.write:after', [...STORE, ...PROCESS]],
  ['onStep:promote', PROCESS],
];

/** Faults that hit a later run (after the first fault fired): the cloud's answer to the re-run's reset. */
export const RERUN_FAULTS: ArmedFault[] = [
  ...[...PROVIDER, { type: 'crash' } as const, { type: 'kill' } as const].map((fault) => ({
    site: 'apply.reset:before' as const,
    fault,
  })),
];

/** Faults while dropping a rejected password (only reached after a password-rejected). */
export const DROP_FAULTS: ArmedFault[] = (['drop.write:before', 'drop.write:after'] as const).flatMap(
  (site) =>
    [
      { type: 'store', kind: 'unavailable' } as const,
      { type: 'crash' } as const,
      { type: 'kill' } as const,
    ].map((fault) => ({ site, fault })),
);

export interface MatrixCase {
  loginCheck: boolean;
  first: ArmedFault;
  second?: ArmedFault | undefined;
}

export function matrixCases(): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const loginCheck of [true, false]) {
    for (const [site, faults] of FIRST_RUN_SITES) {
      if (site === 'verify.login' && !loginCheck) continue;
      for (const fault of faults) {
        const first: ArmedFault = { site, fault };
        const rejected =
          site === 'apply.reset:before' && fault.type === 'provider' && fault.kind === 'password-rejected';
        const seconds = [undefined, ...RERUN_FAULTS, ...(rejected ? DROP_FAULTS : [])];
        for (const second of seconds) cases.push({ loginCheck, first, second });
      }
    }
  }
  return cases;
}

/** Sites reached only after the reset was sent: a failure there leaves a pending version the cloud may hold. */
const AFTER_RESET: ReadonlySet<Site> = new Set([
  'apply.reset:after',
  'onStep:apply',
  'settle.status',
  'onStep:settle',
  'verify.login',
  'onStep:verify',
  'promote.write:before',
  'promote.write:after',
]);

const TRANSIENT_POLL: readonly ErrorKind[] = ['busy', 'throttled', 'unknown-outcome'];

export type Expected =
  | { type: 'ok' }
  | { type: 'killed' }
  | { type: 'error'; kind: RotationErrorKind; pendingMayBeApplied: boolean };

/** What the first run must end with, written from the protocol rather than from the code. */
export function expectedFirstRun({ site, fault }: ArmedFault): Expected {
  const error = (kind: RotationErrorKind, pendingMayBeApplied = AFTER_RESET.has(site)): Expected => ({
    type: 'error',
    kind,
    pendingMayBeApplied,
  });
  const isPoll = site === 'ready.status' || site === 'settle.status';
  switch (fault.type) {
    case 'kill':
      return { type: 'killed' };
    case 'abort':
      // A reset interrupted by the abort may have left: the pending version may be held.
      return error('aborted', AFTER_RESET.has(site) || site === 'apply.reset:before');
    case 'store':
      return error('store');
    case 'crash':
      if (isPoll || site === 'verify.login') return { type: 'ok' }; // polled or tried again
      if (site.startsWith('onStep:')) return error('internal');
      if (site.startsWith('apply.reset')) return error('unknown-outcome', true);
      return error('store');
    case 'provider':
      if (isPoll && TRANSIENT_POLL.includes(fault.kind)) return { type: 'ok' };
      if (site === 'apply.reset:before') {
        return error(fault.kind, fault.kind === 'unknown-outcome' || fault.kind === 'bad-response');
      }
      return error(fault.kind);
    case 'cluster-failed':
      return error('cluster-failed');
    case 'stuck':
      return error(site === 'ready.status' ? 'ready-timeout' : 'settle-timeout');
    case 'refuse':
      return fault.times >= VERIFY_ATTEMPTS ? error('verify-failed') : { type: 'ok' };
  }
}
