import { createHash } from 'node:crypto';

/** Domain separation: a token of this scheme never collides with a token minted elsewhere. */
const SCHEME = 'secret-rotator/version-token/v1';

/** The most generations one rotation can have (maxPasswordRejections is capped at 20 by the config). */
export const MAX_GENERATIONS = 64;

export interface VersionTokenInput {
  targetId: string;
  /** Stable across every retry of one rotation (the job id). */
  rotationId: string;
  /** 0 for the first password of the rotation; +1 each time the cloud rejected the previous one. */
  generation: number;
}

/**
 * The ClientRequestToken / version id of one password of one rotation: a UUID-formatted SHA-256 of
 * (target id, rotation id, generation), 36 characters (AWS wants 32-64). Deterministic, so a re-run
 * finds the version its predecessor staged from the store alone.
 */
export function versionToken({ targetId, rotationId, generation }: VersionTokenInput): string {
  if (typeof targetId !== 'string' || targetId.length === 0) {
    throw new TypeError('versionToken: targetId must be a non-empty string');
  }
  if (typeof rotationId !== 'string' || rotationId.length === 0) {
    throw new TypeError('versionToken: rotationId must be a non-empty string');
  }
  if (!Number.isInteger(generation) || generation < 0 || generation >= MAX_GENERATIONS) {
    throw new RangeError(`versionToken: generation must be an integer from 0 to ${MAX_GENERATIONS - 1}`);
  }
  // Length-prefixed fields: ('a:b', 'c') and ('a', 'b:c') hash differently.
  const fields = [SCHEME, targetId, rotationId, String(generation)];
  const material = fields.map((f) => `${Buffer.byteLength(f)}:${f}`).join('');
  const hash = createHash('sha256').update(material, 'utf8').digest();
  // RFC 9562 UUIDv8 ("custom"): version nibble 8, variant bits 10.
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The tokens of generations 0..count-1 of one rotation. */
export function generationTokens(targetId: string, rotationId: string, count: number): string[] {
  return Array.from({ length: count }, (_, generation) => versionToken({ targetId, rotationId, generation }));
}
