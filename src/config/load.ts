import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseText } from './parse-text.js';
import { ConfigError, type ConfigProblem, formatPath } from './problems.js';
import { applyRedisUrl } from './redis-schema.js';
import { PROVIDER_IDS, type ProviderId } from './provider-ids.js';
import { configSchema, type CrossFieldTarget, type RotatorConfig, targetCrossFieldIssues } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/rotator.yaml';

export type ConfigResult = { ok: true; config: RotatorConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * What the layers above config check in a config: config knows the shape and the rules between a
 * target's fields, not what a provider accepts or what its password policy allows. Those checks are
 * passed in; src/worker/config.ts passes the full set, and every entry point loads configs through it.
 */
export interface ConfigChecks {
  /**
   * A target's problems, on the raw document (so they are reported even when another part of the
   * config is broken), `path` relative to the target (`policy.length`). The policy override, narrowed
   * against the provider's policy.
   */
  target(target: RawTarget): ConfigProblem[];
  /** Problems of a config that passed the schema, `path` from the root: each provider's view of its targets. */
  config(config: RotatorConfig): ConfigProblem[];
}

/** A target of the raw document whose provider is known; every other field is unchecked. */
export type RawTarget = Record<string, unknown> & { provider: ProviderId };

type ZodIssue = z.core.$ZodIssue;

/** A branch of a union that failed on its shape (wrong type at its root, a missing or unknown key). */
function shapeMismatch(issues: readonly ZodIssue[]): boolean {
  return issues.some(
    (i) =>
      i.code === 'unrecognized_keys' ||
      (i.code === 'invalid_type' && (i.path.length === 0 || i.input === undefined)) ||
      (i.code === 'invalid_union' && i.path.length === 0),
  );
}

function fromIssues(issues: readonly ZodIssue[], prefix: readonly PropertyKey[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({ path: formatPath([...path, key]), message: 'unknown key' });
    } else if (issue.code === 'invalid_union') {
      // When exactly one alternative has the right shape (e.g. { every } of a schedule), its own
      // problem is more useful than "must be A or B".
      const fitting = issue.errors.filter((branch) => !shapeMismatch(branch));
      if (fitting.length === 1) problems.push(...fromIssues(fitting[0]!, path));
      else problems.push({ path: formatPath(path), message: issue.message });
    } else if (issue.code === 'invalid_type') {
      problems.push({ path: formatPath(path), message: typeMessage(issue.expected, issue.input) });
    } else {
      problems.push({ path: formatPath(path), message: issue.message });
    }
  }
  return problems;
}

function fromZod(error: z.ZodError): ConfigProblem[] {
  return fromIssues(error.issues, []);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function typeMessage(expected: string, input: unknown): string {
  if (input === undefined) return 'required';
  const want: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: 'true or false',
  };
  // Only describe the shape of the wrong value, never the value itself when it is a string (it may be a secret).
  const got = typeof input === 'string' ? 'a string' : kindOf(input);
  return `must be ${want[expected] ?? expected}, got ${got}`;
}

/** Problems of one target together, in target order; the rest first (stable otherwise). */
function byTarget(problems: ConfigProblem[]): ConfigProblem[] {
  const index = (p: ConfigProblem) => Number(/^targets\[(\d+)\]/.exec(p.path)?.[1] ?? -1);
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => index(a.p) - index(b.p) || a.i - b.i)
    .map(({ p }) => p);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const isProviderId = (v: unknown): v is ProviderId => PROVIDER_IDS.some((id) => id === v);

/**
 * Rules across the fields of each target, checked on the raw document so that they are reported even
 * when another part of the config is broken (zod's refinements only run on an otherwise valid
 * document): duplicate ids, what each provider needs, and the checks passed in (the policy override).
 */
export function targetProblems(raw: unknown, checks: Pick<ConfigChecks, 'target'>): ConfigProblem[] {
  if (!isRecord(raw) || !Array.isArray(raw.targets)) return [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  raw.targets.forEach((t: unknown, i: number) => {
    if (!isRecord(t)) return;
    const at = (path: readonly PropertyKey[]) => formatPath(['targets', i, ...path]);
    if (typeof t.id === 'string') {
      const first = seen.get(t.id);
      if (first !== undefined) {
        problems.push({
          path: at(['id']),
          message: `duplicate target id '${t.id}' (first at targets[${first}])`,
        });
      } else seen.set(t.id, i);
    }
    if (!isProviderId(t.provider)) return;
    const target: CrossFieldTarget = {
      ...t,
      provider: t.provider,
      credentials: isRecord(t.credentials) ? t.credentials : {},
    };
    for (const issue of targetCrossFieldIssues(target)) {
      problems.push({ path: at(issue.path), message: issue.message });
    }
    for (const p of checks.target({ ...t, provider: t.provider })) {
      problems.push({ path: `${at([])}.${p.path}`, message: p.message });
    }
  });
  return problems;
}

function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Pure: validates an already parsed document, reporting every problem at once. */
export function validateConfigWith(raw: unknown, checks: ConfigChecks): ConfigResult {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  const problems = byTarget(
    dedupe([...(parsed.success ? [] : fromZod(parsed.error)), ...targetProblems(raw, checks)]),
  );
  if (parsed.success) problems.push(...checks.config(parsed.data));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

/** Pure: parses YAML (or JSON) text and validates it. */
export function parseConfigTextWith(text: string, checks: ConfigChecks): ConfigResult {
  // parseText keeps no reference to the parsed Document, so it can be collected before validation.
  const parsed = parseText(text);
  if (!parsed.ok) return parsed;
  const raw = parsed.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '(root)', message: 'must be a YAML mapping (key: value)' }] };
  }
  return validateConfigWith(raw, checks);
}

/** The config path in effect: the flag, else ROTATOR_CONFIG, else the default. */
export function configPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.ROTATOR_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function readConfigFileWith(file: string, checks: ConfigChecks): ConfigResult {
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
  return parseConfigTextWith(text, checks);
}

/** Reads and validates, applying REDIS_URL; throws ConfigError listing every problem. */
export function loadConfigWith(
  file: string,
  checks: ConfigChecks,
  env: NodeJS.ProcessEnv = process.env,
): RotatorConfig {
  const result = readConfigFileWith(file, checks);
  if (!result.ok) throw new ConfigError(file, result.problems);
  if (env.REDIS_URL) {
    const applied = applyRedisUrl(result.config.redis, env.REDIS_URL);
    if (!applied.ok) throw new ConfigError(file, [{ path: 'REDIS_URL', message: applied.message }]);
    result.config.redis = applied.redis;
  }
  return result.config;
}
