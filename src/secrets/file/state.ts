import type { SecretStage, SecretVersion, SecretVersionInfo } from '../types.js';
import { CURRENT_CHANGED, PENDING_LOST, PENDING_TAKEN, SecretStoreError } from '../types.js';

/**
 * The file store's content, decrypted: the same version/label model as AWS Secrets Manager.
 * Pure functions over it; reading, locking and writing live in index.ts.
 */
export interface StoredVersion {
  versionId: string;
  /** The version's text, byte for byte (what AWS calls SecretString). */
  text: string;
  stages: SecretStage[];
  /** Epoch ms. */
  createdAt: number;
}

export interface StoredSecret {
  createdAt: number;
  description?: string;
  /** Oldest first. */
  versions: StoredVersion[];
}

export interface StoreState {
  secrets: Map<string, StoredSecret>;
}

/**
 * 3: a snapshot continued by a journal (journal.ts): it names its generation (the journal that
 * continues it) and the generation it replaced (whose journal's commits it holds). 2 (read, and
 * written only without a generation): a version holds its text; a single-file store. 1 (read,
 * never written): a version held an object of strings, the rotator's JSON before secrets were kept
 * opaque; it reads as the text the rotator wrote for it.
 */
export const STATE_FORMAT = 3;
const TEXT_FORMAT = 2;
const LEGACY_FORMAT = 1;

/** What a format 3 snapshot says about its journal: generations as 32 hex digits. */
export interface SnapshotMeta {
  generation: string;
  /** The generation whose journal this snapshot absorbed; null for a store's first snapshot. */
  replaces: string | null;
}

/** AWS keeps about 100 versions; so do we, never dropping a labelled one. */
export const DEFAULT_MAX_VERSIONS = 100;

export function emptyState(): StoreState {
  return { secrets: new Map() };
}

export function findByStage(secret: StoredSecret | undefined, stage: SecretStage): StoredVersion | undefined {
  return secret?.versions.find((v) => v.stages.includes(stage));
}

export function findVersion(secret: StoredSecret | undefined, versionId: string): StoredVersion | undefined {
  return secret?.versions.find((v) => v.versionId === versionId);
}

export function toVersion(v: StoredVersion | undefined): SecretVersion | undefined {
  return v ? { versionId: v.versionId, text: v.text } : undefined;
}

export function describeSecret(secret: StoredSecret): SecretVersionInfo[] {
  return [...secret.versions]
    .reverse()
    .map((v) => ({ versionId: v.versionId, stages: [...v.stages], createdAt: new Date(v.createdAt) }));
}

function removeStage(secret: StoredSecret, stage: SecretStage): StoredVersion | undefined {
  const holder = findByStage(secret, stage);
  if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
  return holder;
}

function addStage(v: StoredVersion, stage: SecretStage): void {
  if (!v.stages.includes(stage)) v.stages.push(stage);
}

/** Drops the oldest unlabelled versions beyond `max`. */
function prune(secret: StoredSecret, max: number): void {
  let excess = secret.versions.length - max;
  if (excess <= 0) return;
  secret.versions = secret.versions.filter((v) => {
    if (excess > 0 && v.stages.length === 0) {
      excess -= 1;
      return false;
    }
    return true;
  });
}

export interface StageArgs {
  secretId: string;
  token: string;
  text: string;
  now: number;
  description?: string | undefined;
  maxVersions?: number;
  /** See StageOptions.expectPending. */
  expectPending?: string | null | undefined;
}

/** PutSecretValue(ClientRequestToken, VersionStages: [AWSPENDING]) on the model. Mutates `state`. */
export function stagePendingIn(state: StoreState, args: StageArgs): { created: boolean } {
  const { secretId, token, text, now } = args;
  let secret = state.secrets.get(secretId);
  const existing = findVersion(secret, token);
  if (existing) {
    if (existing.text === text) return { created: false };
    throw new SecretStoreError(
      'conflict',
      `secret ${secretId} already has a version ${token} with a different value`,
      { secretId, versionId: token, code: 'ResourceExistsException' },
    );
  }
  const holder = findByStage(secret, 'AWSPENDING');
  if (args.expectPending !== undefined && holder && holder.versionId !== args.expectPending) {
    throw new SecretStoreError(
      'conflict',
      `secret ${secretId}: version ${holder.versionId} of another writer holds AWSPENDING`,
      { secretId, versionId: token, code: PENDING_TAKEN },
    );
  }
  if (!secret) {
    secret = { createdAt: now, versions: [] };
    if (args.description !== undefined) secret.description = args.description;
    state.secrets.set(secretId, secret);
  }
  removeStage(secret, 'AWSPENDING');
  secret.versions.push({ versionId: token, text, stages: ['AWSPENDING'], createdAt: now });
  prune(secret, args.maxVersions ?? DEFAULT_MAX_VERSIONS);
  return { created: true };
}

function requireVersion(
  state: StoreState,
  secretId: string,
  versionId: string,
): [StoredSecret, StoredVersion] {
  const secret = state.secrets.get(secretId);
  if (!secret) {
    throw new SecretStoreError('not-found', `secret ${secretId} does not exist`, { secretId, versionId });
  }
  const version = findVersion(secret, versionId);
  if (!version) {
    throw new SecretStoreError('not-found', `secret ${secretId} has no version ${versionId}`, {
      secretId,
      versionId,
    });
  }
  return [secret, version];
}

/** Moves AWSCURRENT to `versionId` (the old current becomes AWSPREVIOUS) and clears its AWSPENDING. */
export function promoteIn(
  state: StoreState,
  secretId: string,
  versionId: string,
  expectCurrent?: string | null,
): { changed: boolean } {
  const [secret, version] = requireVersion(state, secretId, versionId);
  if (expectCurrent !== undefined && !version.stages.includes('AWSCURRENT')) {
    const current = findByStage(secret, 'AWSCURRENT')?.versionId ?? null;
    if (!version.stages.includes('AWSPENDING')) {
      throw new SecretStoreError(
        'conflict',
        `secret ${secretId}: version ${versionId} no longer holds AWSPENDING`,
        { secretId, versionId, code: PENDING_LOST },
      );
    }
    if (current !== expectCurrent) {
      throw new SecretStoreError(
        'conflict',
        `secret ${secretId}: AWSCURRENT is ${current ?? 'on no version'}, not ${expectCurrent ?? 'on no version'} as when this version was staged`,
        { secretId, versionId, code: CURRENT_CHANGED },
      );
    }
  }
  let changed = false;
  if (!version.stages.includes('AWSCURRENT')) {
    const old = removeStage(secret, 'AWSCURRENT');
    if (old) {
      removeStage(secret, 'AWSPREVIOUS');
      addStage(old, 'AWSPREVIOUS');
    }
    // A version that was previous and becomes current again is no longer previous.
    version.stages = version.stages.filter((s) => s !== 'AWSPREVIOUS');
    addStage(version, 'AWSCURRENT');
    changed = true;
  }
  if (version.stages.includes('AWSPENDING')) {
    version.stages = version.stages.filter((s) => s !== 'AWSPENDING');
    changed = true;
  }
  return { changed };
}

/** Removes AWSPENDING from `versionId`; a no-op when it does not carry it. */
export function dropPendingIn(state: StoreState, secretId: string, versionId: string): { changed: boolean } {
  const [, version] = requireVersion(state, secretId, versionId);
  if (!version.stages.includes('AWSPENDING')) return { changed: false };
  version.stages = version.stages.filter((s) => s !== 'AWSPENDING');
  return { changed: true };
}

interface SerializedState {
  format: number;
  generation?: string;
  replaces?: string | null;
  secrets: ({ id: string } & StoredSecret)[];
}

function head(meta: SnapshotMeta | undefined): string {
  return meta
    ? `{"format":${STATE_FORMAT},"generation":${JSON.stringify(meta.generation)},"replaces":${JSON.stringify(meta.replaces)},"secrets":[`
    : `{"format":${TEXT_FORMAT},"secrets":[`;
}

/** Format 3 with `meta`; format 2 (a single-file store, for tests) without. */
export function serializeState(state: StoreState, meta?: SnapshotMeta): string {
  return `${head(meta)}${[...state.secrets].map(([id, s]) => JSON.stringify({ id, ...s })).join(',')}]}`;
}

/** One secret as serializeState writes it, cached in `fragments` (see serializeStateWith). */
export function secretFragment(
  id: string,
  s: StoredSecret,
  fragments: WeakMap<StoredSecret, string>,
): string {
  let part = fragments.get(s);
  if (part === undefined) {
    part = JSON.stringify({ id, ...s });
    fragments.set(s, part);
  }
  return part;
}

/**
 * The same text as serializeState, re-serializing only secrets not in `fragments` (keyed by the
 * secret object: a caller that never mutates a serialized secret in place, but replaces it with a
 * changed copy, pays for the changed secrets only).
 */
export function serializeStateWith(
  state: StoreState,
  fragments: WeakMap<StoredSecret, string>,
  meta?: SnapshotMeta,
): string {
  return serializeStateChunks(state, fragments, undefined, meta).join('');
}

/**
 * serializeStateWith's text in pieces of about `chunkChars` characters. A store of 10,000 secrets
 * is megabytes of text: one string that size is allocated straight into V8's old generation on
 * every commit, and that garbage (not the live state) was what grew the worker's heap.
 */
export function serializeStateChunks(
  state: StoreState,
  fragments: WeakMap<StoredSecret, string>,
  chunkChars = 64 * 1024,
  meta?: SnapshotMeta,
): string[] {
  const chunks: string[] = [];
  let current = head(meta);
  let first = true;
  for (const [id, s] of state.secrets) {
    const part = secretFragment(id, s, fragments);
    const piece = first ? part : `,${part}`;
    first = false;
    if (current.length > 0 && current.length + piece.length > chunkChars) {
      chunks.push(current);
      current = piece;
    } else current += piece;
  }
  chunks.push(`${current}]}`);
  return chunks;
}

const STAGES = new Set<string>(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);

/** Parses decrypted content; throws a plain Error describing the first problem (the caller wraps it). */
export function parseState(text: string): StoreState {
  return parseSnapshot(text).state;
}

const GENERATION_HEX = /^[0-9a-f]{32}$/;

/** A snapshot's state and, for format 3, what it says about its journal. */
export function parseSnapshot(text: string): { state: StoreState; meta: SnapshotMeta | undefined } {
  const data = JSON.parse(text) as Partial<SerializedState>;
  if (
    data === null ||
    typeof data !== 'object' ||
    (data.format !== STATE_FORMAT && data.format !== TEXT_FORMAT && data.format !== LEGACY_FORMAT) ||
    !Array.isArray(data.secrets)
  ) {
    throw new Error(`unsupported content format (expected ${STATE_FORMAT})`);
  }
  if (data.format === TEXT_FORMAT && 'generation' in data) {
    // The journal build that was withdrawn in late 2026 wrote format 2 with a generation, and
    // kept commits in a journal this version does not read: reading the snapshot alone loses them.
    throw new Error(
      'snapshot of the withdrawn journal build (format 2 with a generation): open it with the build that wrote it, or restore a backup',
    );
  }
  let meta: SnapshotMeta | undefined;
  if (data.format === STATE_FORMAT) {
    const { generation, replaces } = data;
    if (
      typeof generation !== 'string' ||
      !GENERATION_HEX.test(generation) ||
      (replaces !== null && (typeof replaces !== 'string' || !GENERATION_HEX.test(replaces)))
    ) {
      throw new Error('malformed snapshot generation');
    }
    meta = { generation, replaces: replaces ?? null };
  }
  const state = emptyState();
  for (const s of data.secrets) {
    const [id, secret] = parseSecretEntry(s, data.format);
    state.secrets.set(id, secret);
  }
  return { state, meta };
}

/** One `{id, ...StoredSecret}` entry (of a snapshot or a journal record) of content `format`. */
export function parseSecretEntry(entry: unknown, format = STATE_FORMAT): [string, StoredSecret] {
  const s = entry as Partial<{ id: string } & StoredSecret> | null;
  if (typeof s?.id !== 'string' || !Array.isArray(s.versions) || typeof s.createdAt !== 'number') {
    throw new Error('malformed secret entry');
  }
  const versions: StoredVersion[] = s.versions.map((v) => {
    const text = format === LEGACY_FORMAT ? legacyText((v as { value?: unknown } | null)?.value) : v?.text;
    if (
      typeof v?.versionId !== 'string' ||
      typeof v.createdAt !== 'number' ||
      !Array.isArray(v.stages) ||
      !v.stages.every((st) => STAGES.has(st)) ||
      typeof text !== 'string'
    ) {
      throw new Error(`malformed version entry in secret ${s.id}`);
    }
    return { versionId: v.versionId, text, stages: v.stages, createdAt: v.createdAt };
  });
  const secret: StoredSecret = { createdAt: s.createdAt, versions };
  if (typeof s.description === 'string') secret.description = s.description;
  return [s.id, secret];
}

/**
 * The text a format-1 value stood for: the JSON the rotator wrote for it then (username, password,
 * engine, then the other fields sorted), so a version reads the same as before and a re-staged
 * token still compares equal. Undefined when it is not an object of strings.
 */
function legacyText(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (!Object.values(record).every((x) => typeof x === 'string')) return undefined;
  const ordered: Record<string, unknown> = {
    username: record.username,
    password: record.password,
    engine: record.engine,
  };
  for (const key of Object.keys(record).sort()) {
    if (!Object.hasOwn(ordered, key)) ordered[key] = record[key];
  }
  return JSON.stringify(ordered);
}
