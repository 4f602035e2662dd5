import { readFileSync } from 'node:fs';
import type { SecretRef } from './schema.js';

export class SecretRefError extends Error {
  override name = 'SecretRefError';
}

/** Describes a reference without its value: `env NCP_ACCESS_KEY` or `file /run/secrets/x`. */
export function describeRef(ref: SecretRef): string {
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}

/** Resolves a `{ env }` / `{ file }` reference. The error names the reference, never a value. */
export function resolveRef(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '')
      throw new SecretRefError(`environment variable ${ref.env} is not set`);
    return value;
  }
  let text: string;
  try {
    text = readFileSync(ref.file, 'utf8');
  } catch (err) {
    throw new SecretRefError(
      `cannot read file ${ref.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretRefError(`file ${ref.file} is empty`);
  return value;
}
