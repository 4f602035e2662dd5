import { SecretStoreError } from '../types.js';

/** The paths of one file store: its snapshot, key file and journal. */
export interface StoreFiles {
  path: string;
  keyPath: string;
  journalPath: string;
}

/** The snapshot cannot be opened or parsed. */
export function corrupt(files: StoreFiles, reason: string, cause?: unknown): SecretStoreError {
  return new SecretStoreError(
    'corrupt',
    `file store ${files.path} cannot be read: ${reason}`,
    cause ? { cause } : undefined,
  );
}

export function missingKey(files: StoreFiles): SecretStoreError {
  return new SecretStoreError(
    'invalid',
    `file store ${files.path} exists but its key file ${files.keyPath} is missing: restore the key file or set store.key`,
  );
}

export function journalCorrupt(files: StoreFiles, reason: string): SecretStoreError {
  return new SecretStoreError(
    'corrupt',
    `file store journal ${files.journalPath} cannot be read: ${reason}; nothing was dropped or changed. ` +
      `Restore the store file and its journal together from one backup (see docs/operations.md)`,
  );
}

export function unavailable(file: string, err: unknown): SecretStoreError {
  return new SecretStoreError(
    'unavailable',
    `cannot read file store ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
  );
}

export const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
