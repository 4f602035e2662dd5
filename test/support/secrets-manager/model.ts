import { randomBytes, randomUUID } from 'node:crypto';

/**
 * AWS Secrets Manager's secret/version/label model, as its API reference documents it, for the
 * loopback endpoint. Operations take the JSON request and return the JSON response, or throw
 * AwsError carrying the `__type` AWS would answer with.
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Version {
  versionId: string;
  text?: string | undefined;
  binary?: string | undefined;
  stages: Set<string>;
  created: number;
}

interface Secret {
  arn: string;
  name: string;
  description?: string | undefined;
  kmsKeyId?: string | undefined;
  tags: { Key: string; Value: string }[];
  created: number;
  deleted?: number | undefined;
  /** Oldest first. */
  versions: Version[];
}

type Json = Record<string, unknown>;

const MAX_VERSIONS = 100;

const epoch = (ms: number) => ms / 1000;

function str(body: Json, field: string, required: true): string;
function str(body: Json, field: string, required?: false): string | undefined;
function str(body: Json, field: string, required = false): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new AwsError('InvalidParameterException', `${field} is required.`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsError('InvalidParameterException', `${field} must be a string.`);
  return v;
}

function checkToken(token: string | undefined): void {
  if (token !== undefined && (token.length < 32 || token.length > 64)) {
    throw new AwsError(
      'InvalidParameterException',
      'ClientRequestToken must be between 32 and 64 characters long.',
    );
  }
}

export class SecretsManagerModel {
  private readonly secrets = new Map<string, Secret>();

  constructor(
    readonly region: string,
    private readonly now: () => number = Date.now,
  ) {}

  private find(secretId: string | undefined): Secret {
    if (!secretId) throw new AwsError('InvalidParameterException', 'SecretId is required.');
    const s = this.secrets.get(secretId) ?? [...this.secrets.values()].find((x) => x.arn === secretId);
    if (!s)
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  }

  private live(secretId: string | undefined): Secret {
    const s = this.find(secretId);
    if (s.deleted !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    return s;
  }

  private holder(s: Secret, stage: string): Version | undefined {
    return s.versions.find((v) => v.stages.has(stage));
  }

  private version(s: Secret, versionId: string): Version {
    const v = s.versions.find((x) => x.versionId === versionId);
    if (!v) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret version: ${versionId}`,
      );
    }
    return v;
  }

  /** Attaches `stage` to `target`, removing it elsewhere; moving AWSCURRENT moves AWSPREVIOUS along. */
  private attach(s: Secret, stage: string, target: Version): void {
    const old = this.holder(s, stage);
    if (old === target) return;
    old?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === 'AWSCURRENT' && old) {
      this.holder(s, 'AWSPREVIOUS')?.stages.delete('AWSPREVIOUS');
      old.stages.add('AWSPREVIOUS');
    }
  }

  private addVersion(s: Secret, body: Json, token: string, stages: string[]): Version {
    const v: Version = {
      versionId: token,
      text: str(body, 'SecretString'),
      binary: str(body, 'SecretBinary'),
      stages: new Set(),
      created: this.now(),
    };
    const first = s.versions.length === 0;
    s.versions.push(v);
    for (const stage of stages) this.attach(s, stage, v);
    // The first version of a secret always gets AWSCURRENT.
    if (first) v.stages.add('AWSCURRENT');
    // Outdated (unlabelled) versions beyond the quota go first.
    let excess = s.versions.length - MAX_VERSIONS;
    s.versions = s.versions.filter((x) => !(excess > 0 && x.stages.size === 0 && excess-- > 0));
    return v;
  }

  private requireValue(body: Json): void {
    const text = str(body, 'SecretString');
    const binary = str(body, 'SecretBinary');
    if (text === undefined && binary === undefined) {
      throw new AwsError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
    }
    if (text !== undefined && binary !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        'You can provide either SecretString or SecretBinary, not both.',
      );
    }
  }

  CreateSecret(body: Json): Json {
    const name = str(body, 'Name', true);
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new AwsError(
        'InvalidParameterException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    const token = str(body, 'ClientRequestToken');
    checkToken(token);
    const existing = this.secrets.get(name);
    if (existing) {
      if (existing.deleted !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      throw new AwsError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const hasValue = body.SecretString !== undefined || body.SecretBinary !== undefined;
    if (hasValue) this.requireValue(body);
    const s: Secret = {
      arn: `arn:aws:secretsmanager:${this.region}:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`,
      name,
      description: str(body, 'Description'),
      kmsKeyId: str(body, 'KmsKeyId'),
      tags: Array.isArray(body.Tags) ? (body.Tags as { Key: string; Value: string }[]) : [],
      created: this.now(),
      versions: [],
    };
    this.secrets.set(name, s);
    if (!hasValue) return { ARN: s.arn, Name: s.name };
    const v = this.addVersion(s, body, token ?? randomUUID(), ['AWSCURRENT']);
    return { ARN: s.arn, Name: s.name, VersionId: v.versionId };
  }

  PutSecretValue(body: Json): Json {
    const s = this.live(str(body, 'SecretId', true));
    const token = str(body, 'ClientRequestToken');
    if (token === undefined)
      throw new AwsError('InvalidParameterException', 'ClientRequestToken is required.');
    checkToken(token);
    this.requireValue(body);
    const stages = body.VersionStages === undefined ? ['AWSCURRENT'] : body.VersionStages;
    if (
      !Array.isArray(stages) ||
      stages.length > 20 ||
      !stages.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 256)
    ) {
      throw new AwsError(
        'InvalidParameterException',
        'VersionStages must be a list of 1 to 20 staging labels.',
      );
    }
    const existing = s.versions.find((v) => v.versionId === token);
    if (existing) {
      if (existing.text !== str(body, 'SecretString') || existing.binary !== str(body, 'SecretBinary')) {
        throw new AwsError(
          'ResourceExistsException',
          "You can't modify an existing version, you can only create a new version.",
        );
      }
      return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
    }
    const v = this.addVersion(s, body, token, stages as string[]);
    return { ARN: s.arn, Name: s.name, VersionId: v.versionId, VersionStages: [...v.stages] };
  }

  GetSecretValue(body: Json): Json {
    const s = this.live(str(body, 'SecretId', true));
    const versionId = str(body, 'VersionId');
    const stage = str(body, 'VersionStage');
    let v: Version | undefined;
    if (versionId !== undefined) {
      v = s.versions.find((x) => x.versionId === versionId);
      if (!v) {
        throw new AwsError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
        );
      }
      if (stage !== undefined && !v.stages.has(stage)) {
        throw new AwsError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${versionId} and staging label: ${stage}`,
        );
      }
    } else {
      const label = stage ?? 'AWSCURRENT';
      v = this.holder(s, label);
      if (!v) {
        throw new AwsError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${label}`,
        );
      }
    }
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: v.versionId,
      ...(v.text !== undefined ? { SecretString: v.text } : {}),
      ...(v.binary !== undefined ? { SecretBinary: v.binary } : {}),
      VersionStages: [...v.stages],
      CreatedDate: epoch(v.created),
    };
  }

  UpdateSecretVersionStage(body: Json): Json {
    const s = this.live(str(body, 'SecretId', true));
    const stage = str(body, 'VersionStage', true);
    const moveTo = str(body, 'MoveToVersionId');
    const removeFrom = str(body, 'RemoveFromVersionId');
    const holder = this.holder(s, stage);
    if (moveTo !== undefined) {
      const target = this.version(s, moveTo);
      if (removeFrom !== undefined) this.version(s, removeFrom);
      if (holder && holder !== target && holder.versionId !== removeFrom) {
        throw new AwsError(
          'InvalidParameterException',
          `The parameter RemoveFromVersionId doesn't match the current version with staging label ${stage}: ${holder.versionId}.`,
        );
      }
      this.attach(s, stage, target);
    } else {
      if (removeFrom === undefined) {
        throw new AwsError(
          'InvalidParameterException',
          'You must specify MoveToVersionId or RemoveFromVersionId.',
        );
      }
      const from = this.version(s, removeFrom);
      if (stage === 'AWSCURRENT') {
        throw new AwsError(
          'InvalidParameterException',
          "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.",
        );
      }
      if (holder && holder !== from) {
        throw new AwsError(
          'InvalidParameterException',
          `The parameter RemoveFromVersionId doesn't match the current version with staging label ${stage}: ${holder.versionId}.`,
        );
      }
      from.stages.delete(stage);
    }
    return { ARN: s.arn, Name: s.name };
  }

  DescribeSecret(body: Json): Json {
    const s = this.find(str(body, 'SecretId', true));
    const labelled = s.versions.filter((v) => v.stages.size > 0);
    return {
      ARN: s.arn,
      Name: s.name,
      ...(s.description !== undefined ? { Description: s.description } : {}),
      ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
      ...(s.tags.length ? { Tags: s.tags } : {}),
      CreatedDate: epoch(s.created),
      ...(s.deleted !== undefined ? { DeletedDate: epoch(s.deleted) } : {}),
      VersionIdsToStages: Object.fromEntries(labelled.map((v) => [v.versionId, [...v.stages]])),
    };
  }

  ListSecretVersionIds(body: Json): Json {
    const s = this.find(str(body, 'SecretId', true));
    const all = [...s.versions].reverse().filter((v) => body.IncludeDeprecated === true || v.stages.size > 0);
    return this.page(
      all,
      body,
      (v) => ({
        VersionId: v.versionId,
        ...(v.stages.size ? { VersionStages: [...v.stages] } : {}),
        CreatedDate: epoch(v.created),
      }),
      'Versions',
      { ARN: s.arn, Name: s.name },
    );
  }

  ListSecrets(body: Json): Json {
    const all = [...this.secrets.values()].filter(
      (s) => s.deleted === undefined || body.IncludePlannedDeletion === true,
    );
    return this.page(
      all,
      body,
      (s) => ({ ARN: s.arn, Name: s.name, CreatedDate: epoch(s.created) }),
      'SecretList',
      {},
    );
  }

  DeleteSecret(body: Json): Json {
    const s = this.find(str(body, 'SecretId', true));
    if (body.ForceDeleteWithoutRecovery === true) {
      this.secrets.delete(s.name);
      return { ARN: s.arn, Name: s.name, DeletionDate: epoch(this.now()) };
    }
    const days = typeof body.RecoveryWindowInDays === 'number' ? body.RecoveryWindowInDays : 30;
    s.deleted = this.now();
    return { ARN: s.arn, Name: s.name, DeletionDate: epoch(this.now() + days * 86_400_000) };
  }

  RestoreSecret(body: Json): Json {
    const s = this.find(str(body, 'SecretId', true));
    s.deleted = undefined;
    return { ARN: s.arn, Name: s.name };
  }

  private page<T>(all: T[], body: Json, map: (x: T) => Json, field: string, extra: Json): Json {
    const max = typeof body.MaxResults === 'number' ? body.MaxResults : 100;
    if (max < 1 || max > 100)
      throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100.');
    const start = body.NextToken === undefined ? 0 : Number(body.NextToken);
    if (!Number.isInteger(start) || start < 0)
      throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
    const slice = all.slice(start, start + max);
    return {
      ...extra,
      [field]: slice.map(map),
      ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
    };
  }

  /** Every version (deprecated ones too) and its raw labels, for assertions on the AWS-level state. */
  labels(secretId: string): Record<string, string[]> | undefined {
    const s = this.secrets.get(secretId);
    return s ? Object.fromEntries(s.versions.map((v) => [v.versionId, [...v.stages].sort()])) : undefined;
  }
}

export const OPERATIONS = [
  'CreateSecret',
  'PutSecretValue',
  'GetSecretValue',
  'UpdateSecretVersionStage',
  'DescribeSecret',
  'ListSecretVersionIds',
  'ListSecrets',
  'DeleteSecret',
  'RestoreSecret',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * AWS's combined request quota on the calls that write a secret's value or labels. The AWS Secrets
 * Manager quotas page (docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html)
 * lists "Combined rate of PutSecretValue, RemoveRegionsFromReplication, ReplicateSecretToRegion,
 * StopReplicationToReplica, UpdateSecret, and UpdateSecretVersionStage API requests: each supported
 * Region: 50 per second, not adjustable". CreateSecret is not in that row (the page gives it a
 * quota of its own), so it is not counted here; of the six, this model implements PutSecretValue and
 * UpdateSecretVersionStage. Over the quota AWS answers 400 `ThrottlingException` "Rate exceeded".
 */
export const QUOTA_WRITE_OPERATIONS: readonly Operation[] = ['PutSecretValue', 'UpdateSecretVersionStage'];

export interface WriteQuotaOptions {
  /** Requests allowed in any window of `perMs` (AWS: 50 per 1000 ms). */
  max: number;
  perMs: number;
  /** The operations that share the quota (default QUOTA_WRITE_OPERATIONS). */
  operations?: readonly Operation[];
}

/**
 * The quota as a sliding-window log, counted when a request arrives: a request is accepted while
 * fewer than `max` accepted requests arrived in the last `perMs`, so no window of `perMs` ever holds
 * more than `max`. AWS does not document its algorithm; this is the strictest reading of "N per
 * second" (a token bucket would also let a full bucket's burst through). Throttled requests do not
 * take a slot. Counts what it accepted and throttled.
 */
export class WriteQuota {
  readonly operations: ReadonlySet<string>;
  accepted = 0;
  throttled = 0;
  /** Accepted requests by operation. */
  readonly acceptedBy: Record<string, number> = {};
  /** Arrival times of the accepted requests still inside the window, oldest first. */
  private readonly window: number[] = [];

  constructor(
    readonly max: number,
    readonly perMs: number,
    operations: readonly Operation[] = QUOTA_WRITE_OPERATIONS,
  ) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`writeQuota.max must be an integer >= 1, got ${max}`);
    if (!(perMs > 0)) throw new RangeError(`writeQuota.perMs must be > 0, got ${perMs}`);
    this.operations = new Set(operations);
  }

  /** Whether `operation` arriving at `now` (ms) may go ahead; throws the AWS throttle when not. */
  admit(operation: string, now: number): void {
    if (!this.operations.has(operation)) return;
    while (this.window.length > 0 && this.window[0]! <= now - this.perMs) this.window.shift();
    if (this.window.length >= this.max) {
      this.throttled += 1;
      throw new AwsError('ThrottlingException', 'Rate exceeded', 400);
    }
    this.window.push(now);
    this.accepted += 1;
    this.acceptedBy[operation] = (this.acceptedBy[operation] ?? 0) + 1;
  }
}
