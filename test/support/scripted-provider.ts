import type { Clock } from '../../src/core/clock.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { ErrorKind, ProviderOperation } from '../../src/providers/errors.js';
import type { PasswordPolicy } from '../../src/policy/types.js';
import type {
  ClusterFacts,
  ClusterStatus,
  Provider,
  ProviderTarget,
  ResetResult,
} from '../../src/providers/types.js';

/** What a CSS-like cloud answers for each error kind (cloud-apis.md). */
const ERROR_SHAPES: Record<ErrorKind, { status?: number; vendorCode?: string; vendorMessage: string }> = {
  busy: { status: 409, vendorCode: 'CSS.0011', vendorMessage: 'another operation is running on the cluster' },
  throttled: { status: 429, vendorCode: 'APIG.0308', vendorMessage: 'request throttled' },
  'unknown-outcome': { vendorMessage: 'timeout after the request was sent' },
  'password-rejected': { status: 400, vendorCode: 'CSS.2026', vendorMessage: 'weak password' },
  precondition: { status: 412, vendorCode: 'CSS.0412', vendorMessage: 'precondition failed' },
  auth: { status: 401, vendorCode: 'APIGW.0301', vendorMessage: 'incorrect IAM authentication information' },
  'not-found': { status: 403, vendorCode: 'CSS.0015', vendorMessage: 'the cluster does not exist' },
  'bad-request': { status: 400, vendorCode: 'CSS.0001', vendorMessage: 'invalid request' },
  'bad-response': { status: 200, vendorMessage: 'unparseable response body' },
};

let requestSeq = 0;

/** A ProviderError as a CSS-like cloud would produce it. `echo` lands in the vendor message, like a body that echoes the request. */
export function cloudError(
  kind: ErrorKind,
  operation: ProviderOperation,
  opts: { retryAfterMs?: number; echo?: string; cause?: unknown } = {},
): ProviderError {
  const shape = ERROR_SHAPES[kind];
  return new ProviderError({
    kind,
    provider: 'otc-css',
    operation,
    status: shape.status,
    vendorCode: shape.vendorCode,
    vendorMessage: opts.echo === undefined ? shape.vendorMessage : `${shape.vendorMessage}: ${opts.echo}`,
    requestId: `req-${++requestSeq}`,
    retryAfterMs: kind === 'throttled' ? (opts.retryAfterMs ?? 20_000) : opts.retryAfterMs,
    cause: opts.cause,
  });
}

export type ClusterOp = 'reset' | 'status';

/**
 * Called before and after each provider call; throwing (or never resolving) interrupts the call
 * there. In phase 'after' of a reset, the cluster has already taken the password.
 */
export type ProviderInterceptor = (
  op: ClusterOp,
  phase: 'before' | 'after',
  args: { password?: string },
) => void | Promise<void>;

/** One scripted answer for the next call of an operation. */
export interface ScriptedFault {
  kind: ErrorKind;
  /** 'after' only for reset: the cluster takes the password, then the reply is this error. */
  phase?: 'before' | 'after';
  retryAfterMs?: number;
}

export interface ClusterOptions {
  clock: Clock;
  /** The password the cluster holds at the start. */
  password: string;
  /** How long the cluster reports busy after a reset (status "100", reset answers 409). */
  busyAfterResetMs?: number;
  /** When the new password takes effect after a reset; before that the old one still logs in. */
  applyDelayMs?: number;
  /** The cloud's own password check: false → 400 CSS.2026. */
  accepts?: (password: string) => boolean;
  /** Echo the rejected password in the error body, as some remote errors do. */
  echoPassword?: boolean;
}

/**
 * A faithful little model of one CSS cluster behind its control plane:
 * - reset sets a new password asynchronously (effective after applyDelayMs) and keeps the cluster
 *   busy for busyAfterResetMs, during which another reset answers 409 CSS.0011;
 * - resetting to the password it already has is accepted like any other;
 * - status answers busy during that window, failed when told to fail, ready otherwise;
 * - login (the data plane) accepts exactly the effective password.
 * Every reset that the cluster took is logged, so tests can ask which passwords it ever held.
 */
export class ScriptedCluster {
  readonly clock: Clock;
  private password: string;
  private scheduled: { password: string; effectiveAt: number } | undefined;
  private busyUntil = -Infinity;
  private failedDetail: string | undefined;
  private readonly busyAfterResetMs: number;
  private readonly applyDelayMs: number;
  private readonly accepts: (password: string) => boolean;
  private readonly echoPassword: boolean;
  private readonly scripts: Record<ClusterOp, ScriptedFault[]> = { reset: [], status: [] };
  /** Every password the cluster took (a successful reset), in order. */
  readonly taken: string[] = [];
  /** Every password the cloud answered password-rejected for. */
  readonly rejected: string[] = [];
  readonly calls: { op: ClusterOp; at: number; result: string }[] = [];
  intercept: ProviderInterceptor | undefined;
  /** What status reports beside the state (security mode, the manager user). */
  facts: ClusterFacts = {};

  constructor(opts: ClusterOptions) {
    this.clock = opts.clock;
    this.password = opts.password;
    this.busyAfterResetMs = opts.busyAfterResetMs ?? 90_000;
    this.applyDelayMs = opts.applyDelayMs ?? 30_000;
    this.accepts = opts.accepts ?? (() => true);
    this.echoPassword = opts.echoPassword ?? false;
  }

  /** The next calls of `op` answer these faults, in order. */
  script(op: ClusterOp, ...faults: ScriptedFault[]): this {
    this.scripts[op].push(...faults);
    return this;
  }

  /** Makes status report failed (e.g. the cluster went into an error state); undefined heals it. */
  fail(detail: string | undefined): void {
    this.failedDetail = detail;
  }

  /** Keeps the cluster busy for `ms` from now (another operation). */
  busyFor(ms: number): void {
    this.busyUntil = Math.max(this.busyUntil, this.clock.now() + ms);
  }

  /** The data-plane login. */
  login(password: string): boolean {
    this.tick();
    return password === this.password;
  }

  /** The password the cluster holds now. */
  currentPassword(): string {
    this.tick();
    return this.password;
  }

  /** The password the cluster will hold once the change in flight (if any) is applied. */
  eventualPassword(): string {
    return this.scheduled?.password ?? this.password;
  }

  /** Whether the cluster ever took this password. */
  held(password: string): boolean {
    return this.taken.includes(password);
  }

  isBusy(): boolean {
    return this.clock.now() < this.busyUntil;
  }

  /** A Provider over this cluster. */
  provider(): Provider {
    return {
      id: 'otc-css',
      policy: TEST_POLICY,
      defaultUsername: 'admin',
      baseUrl: () => 'https://css.eu-de.otc.t-systems.com',
      validateTarget: () => [],
      reset: (target, password, opts) => this.reset(target, password, opts?.signal),
      status: (target, opts) => this.status(target, opts?.signal),
    };
  }

  private async reset(_target: ProviderTarget, password: string, signal?: AbortSignal): Promise<ResetResult> {
    signal?.throwIfAborted();
    await this.intercept?.('reset', 'before', { password });
    this.tick();
    const fault = this.scripts.reset[0];
    if (fault && fault.phase !== 'after') {
      this.scripts.reset.shift();
      if (fault.kind === 'password-rejected') this.rejected.push(password);
      this.log('reset', `scripted ${fault.kind}`);
      throw this.error(fault.kind, 'reset', password, fault.retryAfterMs);
    }
    if (this.failedDetail !== undefined) {
      this.log('reset', 'precondition');
      throw cloudError('precondition', 'reset');
    }
    if (this.clock.now() < this.busyUntil) {
      this.log('reset', 'busy');
      throw cloudError('busy', 'reset');
    }
    if (!this.accepts(password)) {
      this.rejected.push(password);
      this.log('reset', 'password-rejected');
      throw this.error('password-rejected', 'reset', password);
    }
    this.scheduled = { password, effectiveAt: this.clock.now() + this.applyDelayMs };
    this.busyUntil = this.clock.now() + this.busyAfterResetMs;
    this.taken.push(password);
    this.log('reset', 'taken');
    if (fault) {
      this.scripts.reset.shift();
      throw this.error(fault.kind, 'reset', password, fault.retryAfterMs);
    }
    await this.intercept?.('reset', 'after', { password });
    return { status: 200, requestId: `req-${++requestSeq}` };
  }

  private async status(_target: ProviderTarget, signal?: AbortSignal): Promise<ClusterStatus> {
    signal?.throwIfAborted();
    await this.intercept?.('status', 'before', {});
    this.tick();
    const fault = this.scripts.status.shift();
    if (fault) {
      this.log('status', `scripted ${fault.kind}`);
      throw this.error(fault.kind, 'status', undefined, fault.retryAfterMs);
    }
    let result: ClusterStatus;
    if (this.failedDetail !== undefined) {
      result = {
        ...this.facts,
        state: 'failed',
        detail: this.failedDetail,
        requestId: `req-${++requestSeq}`,
      };
    } else if (this.clock.now() < this.busyUntil) {
      result = {
        ...this.facts,
        state: 'busy',
        detail: 'status 100, actions [RESETTING]',
        requestId: `req-${++requestSeq}`,
      };
    } else {
      result = { ...this.facts, state: 'ready', requestId: `req-${++requestSeq}` };
    }
    this.log('status', result.state);
    await this.intercept?.('status', 'after', {});
    return result;
  }

  private error(kind: ErrorKind, op: ClusterOp, password: string | undefined, retryAfterMs?: number) {
    const opts: { retryAfterMs?: number; echo?: string } = {};
    if (retryAfterMs !== undefined) opts.retryAfterMs = retryAfterMs;
    if (this.echoPassword && password !== undefined) opts.echo = password;
    return cloudError(kind, op, opts);
  }

  private tick(): void {
    if (this.scheduled && this.clock.now() >= this.scheduled.effectiveAt) {
      this.password = this.scheduled.password;
      this.scheduled = undefined;
    }
  }

  private log(op: ClusterOp, result: string): void {
    this.calls.push({ op, at: this.clock.now(), result });
  }
}

/** A policy every CSS cloud accepts (cloud-apis.md, "a policy that all three accept"). */
export const TEST_POLICY: PasswordPolicy = {
  minLength: 12,
  maxLength: 20,
  specials: '~!@#$%*()-_=[]{};:,.<>?',
  requiredClasses: ['upper', 'lower', 'digit', 'special'],
  minClasses: 4,
  forbiddenSubstrings: ['admin', 'nimda'],
};
