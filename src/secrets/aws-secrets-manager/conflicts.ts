import { CURRENT_CHANGED, PENDING_TAKEN, SecretStoreError } from '../types.js';

/** AWSCURRENT moved since the rotation read it (promote under compare-and-set). */
export function currentChanged(
  secretId: string,
  versionId: string,
  found: string | null,
  expect: string | null,
): SecretStoreError {
  return new SecretStoreError(
    'conflict',
    `secret ${secretId}: AWSCURRENT is ${found ?? 'on no confirmed version'}, not ${expect ?? 'on no version'} as when version ${versionId} was staged`,
    { secretId, versionId, code: CURRENT_CHANGED },
  );
}

/** Another writer's version holds AWSPENDING (stage under compare-and-set). */
export function pendingTaken(secretId: string, token: string, holder: string | undefined): SecretStoreError {
  return new SecretStoreError(
    'conflict',
    `secret ${secretId}: version ${holder ?? '(unknown)'} of another writer holds AWSPENDING`,
    { secretId, versionId: token, code: PENDING_TAKEN },
  );
}

/** The same token was staged before with another value (AWS's ResourceExistsException). */
export function versionExists(secretId: string, token: string): SecretStoreError {
  return new SecretStoreError(
    'conflict',
    `secret ${secretId} already has a version ${token} with a different value`,
    {
      secretId,
      versionId: token,
      code: 'ResourceExistsException',
    },
  );
}
