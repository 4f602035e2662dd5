import { readFileSync } from 'node:fs';
import { processSecrets, type SecretRegistry } from '../log/secret-registry.js';
import type { ConfigProblem } from './problems.js';
import type { SecretRef } from './schema.js';

export class SecretRefError extends Error {
  override name = 'SecretRefError';
}

/** Describes a reference without its value: `env NCP_ACCESS_KEY` or `file /run/secrets/x`. */
export function describeRef(ref: SecretRef): string {
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}

/**
 * Resolves a `{ env }` / `{ file }` reference. The error names the reference, never a value. The value
 * is registered in `registry` (default: the process-wide one), so loggers scrub it from every line.
 */
export function resolveRef(
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
  registry: SecretRegistry = processSecrets,
): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '')
      throw new SecretRefError(`environment variable ${ref.env} is not set`);
    return registry.add(value);
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
  return registry.add(value);
}

/** A reference found in the config, with the path where it sits (`targets[0].credentials.accessKey`). */
export interface LocatedRef {
  path: string;
  ref: SecretRef;
}

function isRef(value: unknown): value is SecretRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const v: unknown = (value as Record<string, unknown>)[keys[0]!];
  return (keys[0] === 'env' || keys[0] === 'file') && typeof v === 'string';
}

/** Every `{ env }` / `{ file }` reference in a validated config, in document order. */
export function collectRefs(config: unknown): LocatedRef[] {
  const found: LocatedRef[] = [];
  const walk = (value: unknown, path: string) => {
    if (isRef(value)) {
      found.push({ path, ref: value });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    }
  };
  walk(config, '');
  return found;
}

/**
 * Resolves every reference in the config and reports those that fail, naming the reference and never
 * printing a value. Resolved values are registered in `registry` (default: the process-wide one).
 */
export function checkRefs(
  config: unknown,
  env: NodeJS.ProcessEnv = process.env,
  registry: SecretRegistry = processSecrets,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const { path, ref } of collectRefs(config)) {
    try {
      resolveRef(ref, env, registry);
    } catch (err) {
      const message = err instanceof SecretRefError ? err.message : `cannot resolve ${describeRef(ref)}`;
      problems.push({ path, message });
    }
  }
  return problems;
}
