import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type RotatorConfig } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/rotator.yaml';

/** One problem with the config, as `path: message`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: RotatorConfig } | { ok: false; problems: ConfigProblem[] };

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the configuration:\n${formatProblems(problems)}`);
  }
}

/** `targets[1].credentials.accessKey` from ['targets', 1, 'credentials', 'accessKey']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

function fromZod(error: z.ZodError): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      }
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

/** Pure: validates an already parsed document. */
export function validateConfig(raw: unknown): ConfigResult {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: fromZod(parsed.error) };
  return { ok: true, config: parsed.data };
}

/** Pure: parses YAML text and validates it. */
export function parseConfigText(text: string): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '(root)', message: 'must be a YAML mapping (key: value)' }] };
  }
  return validateConfig(raw);
}

/** The config path in effect: the flag, else ROTATOR_CONFIG, else the default. */
export function configPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.ROTATOR_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function readConfigFile(file: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EACCES'
          ? 'permission denied'
          : `cannot read (${code ?? 'error'})`;
    return { ok: false, problems: [{ path: file, message: why }] };
  }
  return parseConfigText(text);
}

/** Reads and validates, applying REDIS_URL; throws ConfigError listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): RotatorConfig {
  const result = readConfigFile(file);
  if (!result.ok) throw new ConfigError(file, result.problems);
  if (env.REDIS_URL) result.config.redis.url = env.REDIS_URL;
  return result.config;
}
