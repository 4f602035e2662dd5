import type { Logger } from 'pino';
import { ConfigError, type ConfigProblem } from '../config/problems.js';
import { resolveRef } from '../config/refs.js';
import type { AlertConfig, SecretRef } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { AlertSink } from './types.js';
import { LOG_SINK_NAME, createLogSink } from './log-sink.js';
import { createSlackSink } from './slack-sink.js';
import { webhookKey } from './sign.js';
import { createWebhookSink } from './webhook-sink.js';

export interface AlertSinkDeps {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  timeoutMs?: number;
  /** Called with every resolved secret (Slack URL, webhook URL, HMAC key) so the log can scrub it. */
  onSecret?: (value: string) => void;
  /** Named in the ConfigError, e.g. the config file's path. */
  source?: string;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * The sinks of `alerts:` with their references resolved; the log sink always comes first, once.
 * Throws ConfigError naming `alerts[i].url` / `alerts[i].hmacKey` (never a value) when a reference
 * cannot be resolved, does not hold an http(s) URL, or holds a malformed `whsec_` signing secret.
 */
export function buildAlertSinks(configs: readonly AlertConfig[], deps: AlertSinkDeps): AlertSink[] {
  const env = deps.env ?? process.env;
  const sinks: AlertSink[] = [createLogSink(deps.logger)];
  const problems: ConfigProblem[] = [];
  const common = {
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
  };

  const resolve = (path: string, ref: SecretRef): string | undefined => {
    try {
      const value = resolveRef(ref, env);
      deps.onSecret?.(value);
      return value;
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
      return undefined;
    }
  };
  const url = (path: string, given: string | SecretRef): string | undefined => {
    const value = typeof given === 'string' ? given : resolve(path, given);
    if (value === undefined) return undefined;
    if (!isHttpUrl(value)) {
      problems.push({ path, message: 'must resolve to an http(s) URL' });
      return undefined;
    }
    return value;
  };

  configs.forEach((cfg, i) => {
    if (cfg.type === LOG_SINK_NAME) return;
    if (cfg.type === 'webhook') {
      const u = url(`alerts[${i}].url`, cfg.url);
      const hmacKey = cfg.hmacKey ? resolve(`alerts[${i}].hmacKey`, cfg.hmacKey) : undefined;
      if (hmacKey !== undefined) {
        try {
          webhookKey(hmacKey);
        } catch (err) {
          problems.push({ path: `alerts[${i}].hmacKey`, message: (err as Error).message });
          return;
        }
      }
      if (u !== undefined) {
        sinks.push(
          createWebhookSink({ url: u, hmacKey, ...(deps.clock ? { clock: deps.clock } : {}), ...common }),
        );
      }
    } else {
      const u = url(`alerts[${i}].url`, cfg.url);
      if (u !== undefined) sinks.push(createSlackSink({ url: u, ...common }));
    }
  });
  if (problems.length > 0) throw new ConfigError(deps.source ?? 'config', problems);
  return sinks;
}
