export type SecretStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS';

/**
 * One version of a secret: its text (AWS's SecretString) exactly as stored, byte for byte. What
 * the text holds (a JSON document, a bare password) is read by src/secrets/format.ts, not by a store.
 */
export interface SecretVersion {
  versionId: string;
  text: string;
}

export interface SecretVersionInfo {
  versionId: string;
  stages: SecretStage[];
  createdAt?: Date;
}

export interface StageOptions {
  /** Free-form description kept with the secret when it is created. */
  description?: string;
  /**
   * Compare-and-set on AWSPENDING (the store is the lock between writers that share nothing else):
   * the label is taken only while no other version holds it (`null`) or while the version named
   * here holds it (adopting that version). Otherwise the call fails with SecretStoreError kind
   * 'conflict', code PENDING_TAKEN, and changes nothing. Undefined: no check (the label moves).
   */
  expectPending?: string | null;
}

export interface PromoteOptions {
  /**
   * Compare-and-set: promote only while AWSCURRENT is still this version (`null`: no confirmed
   * current) and `versionId` still holds AWSPENDING. Otherwise SecretStoreError kind 'conflict',
   * code CURRENT_CHANGED or PENDING_LOST. Undefined: no check.
   */
  expectCurrent?: string | null;
}

/** SecretStoreError codes of the compare-and-set failures. */
export const PENDING_TAKEN = 'PendingTaken';
export const CURRENT_CHANGED = 'CurrentChanged';
export const PENDING_LOST = 'PendingLost';

/**
 * A store of secret versions with staging labels, modelled on AWS Secrets Manager.
 * A version's id is the ClientRequestToken that created it (32-64 characters).
 *
 * Errors carry the secret id and the version id, never a value.
 */
export interface SecretStore {
  readonly type: 'aws-secrets-manager' | 'file' | (string & {});
  /**
   * Stores `text` as a new version labelled AWSPENDING (moving the label off any other version).
   * Idempotent: the same token with the same text (byte for byte) is a no-op (`created: false`);
   * the same token with another text fails with SecretStoreError kind 'conflict'.
   */
  stagePending(
    secretId: string,
    token: string,
    text: string,
    opts?: StageOptions,
  ): Promise<{ created: boolean }>;
  /** The version with this id, whatever its stages; undefined if there is none. */
  getVersion(secretId: string, versionId: string): Promise<SecretVersion | undefined>;
  /** The version labelled AWSCURRENT; undefined if the secret or label does not exist. */
  getCurrent(secretId: string): Promise<SecretVersion | undefined>;
  /** The version labelled AWSPREVIOUS; undefined if none. */
  getPrevious(secretId: string): Promise<SecretVersion | undefined>;
  /** The version labelled AWSPENDING; undefined if none. */
  getPending(secretId: string): Promise<SecretVersion | undefined>;
  /**
   * Makes `versionId` AWSCURRENT; the old current becomes AWSPREVIOUS; AWSPENDING is removed.
   * Idempotent: promoting the version that is already current is a no-op (also under CAS).
   */
  promote(secretId: string, versionId: string, opts?: PromoteOptions): Promise<void>;
  /** Removes the AWSPENDING label from `versionId` (the version itself may stay as history). */
  dropPending(secretId: string, versionId: string): Promise<void>;
  /** Every version and its stages, newest first; undefined if the secret does not exist. */
  describe(secretId: string): Promise<SecretVersionInfo[] | undefined>;
  /**
   * Throws if the store cannot be reached or refuses access to `secretId` (for /readyz). One cheap
   * call that rotation's own permissions allow (AWS: DescribeSecret, never ListSecrets); it reads no
   * value, and a secret that does not exist yet is fine.
   */
  ping(secretId: string): Promise<void>;
  close(): Promise<void>;
}

export type SecretStoreErrorKind =
  'not-found' | 'conflict' | 'invalid' | 'unavailable' | 'corrupt' | 'throttled';

export interface SecretStoreErrorOptions {
  cause?: unknown;
  /** The secret the operation worked on. */
  secretId?: string | undefined;
  /** The version (ClientRequestToken) the operation worked on. */
  versionId?: string | undefined;
  /** The backend's own error code, e.g. ResourceExistsException. */
  code?: string | undefined;
  /** The backend's request id, for support cases and the audit trail. */
  requestId?: string | undefined;
}

export class SecretStoreError extends Error {
  override name = 'SecretStoreError' as const;
  readonly secretId: string | undefined;
  readonly versionId: string | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    readonly kind: SecretStoreErrorKind,
    message: string,
    options?: SecretStoreErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.secretId = options?.secretId;
    this.versionId = options?.versionId;
    this.code = options?.code;
    this.requestId = options?.requestId;
  }
}
