import {
  type ConfigChecks,
  type ConfigResult,
  loadConfigWith,
  parseConfigTextWith,
  readConfigFileWith,
  validateConfigWith,
} from '../config/load.js';
import type { RotatorConfig } from '../config/schema.js';
import { policyOverrideProblems } from '../policy/override-problems.js';
import { providerProblems } from '../providers/config-problems.js';

/**
 * The config as every entry point reads it (the CLI, the demo, the worker): src/config checks the
 * shape and the rules between a target's fields; this adds what only the layers above know, each
 * target's policy override narrowed against its provider's policy and each provider's own view of its
 * targets (site, region...). Load configs through here, not through src/config/load.ts alone.
 */
export const CONFIG_CHECKS: ConfigChecks = { target: policyOverrideProblems, config: providerProblems };

/** Pure: validates an already parsed document, reporting every problem at once. */
export function validateConfig(raw: unknown): ConfigResult {
  return validateConfigWith(raw, CONFIG_CHECKS);
}

/** Pure: parses YAML (or JSON) text and validates it. */
export function parseConfigText(text: string): ConfigResult {
  return parseConfigTextWith(text, CONFIG_CHECKS);
}

export function readConfigFile(file: string): ConfigResult {
  return readConfigFileWith(file, CONFIG_CHECKS);
}

/** Reads and validates, applying REDIS_URL; throws ConfigError listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): RotatorConfig {
  return loadConfigWith(file, CONFIG_CHECKS, env);
}
