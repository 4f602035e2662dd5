import { readFileSync } from 'node:fs';
import { systemClock } from '../core/clock.js';
import { createProvider } from '../providers/registry.js';
import type { Provider } from '../providers/types.js';
import type { z } from 'zod';
import { PROVIDER_POLICIES } from '../policy/catalog.js';
import { narrowPolicy } from '../policy/narrow.js';
import { parseText } from './parse-text.js';
import { applyRedisUrl } from './redis-schema.js';
import { PROVIDER_IDS, type ProviderId } from './provider-ids.js';
import {
  configSchema,
  type CrossFieldTarget,
  policyOverrideSchema,
  type RotatorConfig,
  targetCrossFieldIssues,
} from './schema.js';

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
 * document): duplicate ids, what each provider needs, and the policy override, applied to the
 * provider's policy through narrowPolicy (it may only narrow and must stay satisfiable).
 */
export function targetProblems(raw: unknown): ConfigProblem[] {
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
    if (t.policy === undefined) return;
    const override = policyOverrideSchema.safeParse(t.policy);
    if (!override.success) return; // zod reports the shape problems
    const { problems: policyProblems } = narrowPolicy(PROVIDER_POLICIES[t.provider], override.data);
    for (const p of policyProblems) problems.push({ path: `${at([])}.${p.path}`, message: p.message });
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
export function validateConfig(raw: unknown): ConfigResult {
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  const problems = byTarget(
    dedupe([...(parsed.success ? [] : fromZod(parsed.error)), ...targetProblems(raw)]),
  );
  if (parsed.success) problems.push(...providerProblems(parsed.data));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

/** What each target's provider sees wrong with it (unknown site/region...): the provider owns its tables. */
function providerProblems(config: RotatorConfig): ConfigProblem[] {
  const providers = new Map<string, Provider>();
  return config.targets.flatMap((t, i) => {
    let provider = providers.get(t.provider);
    if (!provider) {
      provider = createProvider(t.provider, { fetch: globalThis.fetch, clock: systemClock, timeoutMs: 0 });
      providers.set(t.provider, provider);
    }
    return provider
      .validateTarget(t)
      .map((p) => ({ path: formatPath(['targets', i, ...p.path]), message: p.message }));
  });
}

/** Pure: parses YAML (or JSON) text and validates it. */
export function parseConfigText(text: string): ConfigResult {
  // parseText keeps no reference to the parsed Document, so it can be collected before validation.
  const parsed = parseText(text);
  if (!parsed.ok) return parsed;
  const raw = parsed.value;
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
  if (env.REDIS_URL) {
    const applied = applyRedisUrl(result.config.redis, env.REDIS_URL);
    if (!applied.ok) throw new ConfigError(file, [{ path: 'REDIS_URL', message: applied.message }]);
    result.config.redis = applied.redis;
  }
  return result.config;
}
