import { assertSecretId, assertSecretText, assertToken } from '../../src/secrets/value.js';
import { CURRENT_CHANGED, PENDING_LOST, PENDING_TAKEN, SecretStoreError } from '../../src/secrets/types.js';
import type {
  PromoteOptions,
  SecretStage,
  SecretStore,
  SecretVersion,
  SecretVersionInfo,
  StageOptions,
} from '../../src/secrets/types.js';

export type MemoryStoreOp =
  | 'stagePending'
  | 'getVersion'
  | 'getCurrent'
  | 'getPrevious'
  | 'getPending'
  | 'promote'
  | 'dropPending'
  | 'describe'
  | 'ping';

/**
 * Called before and after every operation; throwing (or never resolving) from it interrupts the
 * operation there. With phase 'after', the operation's effect has already happened (a lost reply).
 */
export type StoreInterceptor = (
  op: MemoryStoreOp,
  phase: 'before' | 'after',
  args: unknown[],
) => void | Promise<void>;

interface StoredVersion {
  versionId: string;
  text: string;
  stages: Set<SecretStage>;
  createdAt: Date;
  seq: number;
}

interface StoredSecret {
  versions: Map<string, StoredVersion>;
  description?: string | undefined;
}

/** One label change, for tests that check what was ever promoted or dropped. */
export interface StoreLogEntry {
  op: 'stage' | 'promote' | 'drop';
  secretId: string;
  versionId: string;
  text: string;
}

/**
 * A SecretStore in memory with the semantics of AWS Secrets Manager (PutSecretValue with a
 * ClientRequestToken and VersionStages [AWSPENDING], UpdateSecretVersionStage):
 * - a token must be 32-64 characters;
 * - the same token with the same text is ignored (no label moves); with another text it fails
 *   (ResourceExistsException → 'conflict');
 * - AWSPENDING, AWSCURRENT, AWSPREVIOUS are each on at most one version;
 * - promote moves AWSCURRENT, the old current becomes AWSPREVIOUS, AWSPENDING is removed;
 * - a version without labels stays readable by id (AWS deprecates it, but keeps it until it holds
 *   100 versions).
 * Texts are kept byte for byte, like AWS's SecretString.
 */
export class MemoryStore implements SecretStore {
  readonly type = 'memory';
  readonly log: StoreLogEntry[] = [];
  intercept: StoreInterceptor | undefined;
  private readonly secrets = new Map<string, StoredSecret>();
  private seq = 0;
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Test setup: a secret whose AWSCURRENT is `text` (as after a first manual rotation). */
  seed(secretId: string, versionId: string, text: string): void {
    const secret = this.secret(secretId, true)!;
    for (const v of secret.versions.values()) v.stages.delete('AWSCURRENT');
    secret.versions.set(versionId, {
      versionId,
      text,
      stages: new Set(['AWSCURRENT']),
      createdAt: new Date(this.now()),
      seq: ++this.seq,
    });
  }

  async stagePending(
    secretId: string,
    token: string,
    text: string,
    opts?: StageOptions,
  ): Promise<{ created: boolean }> {
    await this.hook('stagePending', 'before', [secretId, token]);
    // The same input checks as the real stores, so tests see the same errors.
    assertToken(secretId, token);
    assertSecretText(secretId, text, token);
    const secret = this.secret(secretId, true)!;
    if (opts?.description !== undefined && secret.description === undefined)
      secret.description = opts.description;
    const existing = secret.versions.get(token);
    let created = false;
    if (existing) {
      if (existing.text !== text) {
        throw new SecretStoreError(
          'conflict',
          `version ${token} of secret ${secretId} already exists with another value`,
        );
      }
    } else {
      const holder = [...secret.versions.values()].find((v) => v.stages.has('AWSPENDING'));
      if (opts?.expectPending !== undefined && holder && holder.versionId !== opts.expectPending) {
        throw new SecretStoreError(
          'conflict',
          `AWSPENDING of secret ${secretId} is held by ${holder.versionId}`,
          {
            secretId,
            versionId: token,
            code: PENDING_TAKEN,
          },
        );
      }
      for (const v of secret.versions.values()) v.stages.delete('AWSPENDING');
      secret.versions.set(token, {
        versionId: token,
        text,
        stages: new Set(['AWSPENDING']),
        createdAt: new Date(this.now()),
        seq: ++this.seq,
      });
      this.log.push({ op: 'stage', secretId, versionId: token, text });
      created = true;
    }
    await this.hook('stagePending', 'after', [secretId, token]);
    return { created };
  }

  async getVersion(secretId: string, versionId: string): Promise<SecretVersion | undefined> {
    await this.hook('getVersion', 'before', [secretId, versionId]);
    const v = this.secret(secretId)?.versions.get(versionId);
    await this.hook('getVersion', 'after', [secretId, versionId]);
    return v ? { versionId: v.versionId, text: v.text } : undefined;
  }

  getCurrent(secretId: string): Promise<SecretVersion | undefined> {
    return this.byStage('getCurrent', secretId, 'AWSCURRENT');
  }

  getPrevious(secretId: string): Promise<SecretVersion | undefined> {
    return this.byStage('getPrevious', secretId, 'AWSPREVIOUS');
  }

  getPending(secretId: string): Promise<SecretVersion | undefined> {
    return this.byStage('getPending', secretId, 'AWSPENDING');
  }

  async promote(secretId: string, versionId: string, opts?: PromoteOptions): Promise<void> {
    await this.hook('promote', 'before', [secretId, versionId]);
    const secret = this.secret(secretId);
    const target = secret?.versions.get(versionId);
    if (!secret || !target) {
      throw new SecretStoreError('not-found', `secret ${secretId} has no version ${versionId}`);
    }
    if (opts?.expectCurrent !== undefined && !target.stages.has('AWSCURRENT')) {
      const current = [...secret.versions.values()].find((v) => v.stages.has('AWSCURRENT'));
      if (!target.stages.has('AWSPENDING')) {
        throw new SecretStoreError('conflict', `version ${versionId} lost AWSPENDING`, {
          secretId,
          versionId,
          code: PENDING_LOST,
        });
      }
      if ((current?.versionId ?? null) !== opts.expectCurrent) {
        throw new SecretStoreError('conflict', `AWSCURRENT of secret ${secretId} changed`, {
          secretId,
          versionId,
          code: CURRENT_CHANGED,
        });
      }
    }
    if (!target.stages.has('AWSCURRENT')) {
      for (const v of secret.versions.values()) {
        if (v.stages.delete('AWSCURRENT')) {
          for (const w of secret.versions.values()) w.stages.delete('AWSPREVIOUS');
          v.stages.add('AWSPREVIOUS');
        }
      }
      target.stages.delete('AWSPREVIOUS');
      target.stages.add('AWSCURRENT');
      target.stages.delete('AWSPENDING');
      this.log.push({ op: 'promote', secretId, versionId, text: target.text });
    }
    await this.hook('promote', 'after', [secretId, versionId]);
  }

  async dropPending(secretId: string, versionId: string): Promise<void> {
    await this.hook('dropPending', 'before', [secretId, versionId]);
    const target = this.secret(secretId)?.versions.get(versionId);
    if (!target) throw new SecretStoreError('not-found', `secret ${secretId} has no version ${versionId}`);
    if (target.stages.delete('AWSPENDING')) {
      this.log.push({ op: 'drop', secretId, versionId, text: target.text });
    }
    await this.hook('dropPending', 'after', [secretId, versionId]);
  }

  async describe(secretId: string): Promise<SecretVersionInfo[] | undefined> {
    await this.hook('describe', 'before', [secretId]);
    const secret = this.secret(secretId);
    await this.hook('describe', 'after', [secretId]);
    if (!secret) return undefined;
    return [...secret.versions.values()]
      .sort((a, b) => b.seq - a.seq)
      .map((v) => ({
        versionId: v.versionId,
        stages: [...v.stages].sort(),
        createdAt: new Date(v.createdAt),
      }));
  }

  async ping(secretId: string): Promise<void> {
    await this.hook('ping', 'before', [secretId]);
    assertSecretId(secretId);
    if (this.closed) throw new SecretStoreError('unavailable', 'store is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test helper: the text labelled `stage`, without interception. */
  peek(secretId: string, stage: SecretStage): string | undefined {
    for (const v of this.secret(secretId)?.versions.values() ?? []) {
      if (v.stages.has(stage)) return v.text;
    }
    return undefined;
  }

  /** Test helper: every version with its stages, without interception. */
  versions(secretId: string): { versionId: string; text: string; stages: SecretStage[] }[] {
    return [...(this.secret(secretId)?.versions.values() ?? [])].map((v) => ({
      versionId: v.versionId,
      text: v.text,
      stages: [...v.stages],
    }));
  }

  private async byStage(op: MemoryStoreOp, secretId: string, stage: SecretStage) {
    await this.hook(op, 'before', [secretId]);
    let found: SecretVersion | undefined;
    for (const v of this.secret(secretId)?.versions.values() ?? []) {
      if (v.stages.has(stage)) found = { versionId: v.versionId, text: v.text };
    }
    await this.hook(op, 'after', [secretId]);
    return found;
  }

  private secret(secretId: string, create = false): StoredSecret | undefined {
    if (this.closed) throw new SecretStoreError('unavailable', 'store is closed');
    assertSecretId(secretId);
    let s = this.secrets.get(secretId);
    if (!s && create) {
      s = { versions: new Map() };
      this.secrets.set(secretId, s);
    }
    return s;
  }

  private async hook(op: MemoryStoreOp, phase: 'before' | 'after', args: unknown[]): Promise<void> {
    if (this.closed) throw new SecretStoreError('unavailable', 'store is closed');
    await this.intercept?.(op, phase, args);
  }
}
