import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { REDACT_TOP_LEVEL_PATHS, redactSensitiveKeys } from './redact.js';
import { REDACTED } from './scrubber.js';
import { processSecrets, type SecretRegistry } from './secret-registry.js';

export type { Logger } from 'pino';
export type LogLevel = Level;

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Human-readable output through pino-pretty (a devDependency, loaded only when asked). Default JSON. */
  pretty?: boolean;
  /** Where lines go; default stdout (synchronous, so nothing is lost on exit). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Secrets scrubbed by value from every line; default the process-wide registry. */
  registry?: SecretRegistry;
  /** Bindings on every line (e.g. `{ component: 'worker' }`). */
  base?: Record<string, unknown>;
}

export class LoggerSetupError extends Error {
  override name = 'LoggerSetupError';
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/** Loads pino-pretty on demand; a clear error when it is not installed (production installs omit it). */
export function loadPinoPretty(req: (id: string) => unknown = createRequire(import.meta.url)): PrettyFactory {
  try {
    const mod = req('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new LoggerSetupError(
        'pretty logging needs the pino-pretty package, which is a development dependency and is not installed: install it (npm i -D pino-pretty) or turn pretty logging off (log.pretty: false)',
      );
    }
    throw err;
  }
}

/**
 * The one logger factory. JSON lines by default. Secrets are removed three ways:
 * 1. by key at any depth (formatters: password, newpassword, kafkaManagerUserPassword, secretKey,
 *    token, Authorization, x-ncp-apigw-signature-v2, X-Auth-Token, SecretString, ...);
 * 2. by path through pino's own `redact`, for the same keys at the top level (a second, independent
 *    check where a caller is most likely to put a secret; its wildcard forms cost ~20x the line and
 *    repeated what 1. does at every depth);
 * 3. by value: every string registered in `registry` (generated passwords, resolved credentials) is
 *    replaced in the finished line, so it is caught in messages, error messages and stacks alike.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const registry = options.registry ?? processSecrets;
  let destination: DestinationStream | NodeJS.WritableStream =
    options.destination ?? pino.destination({ dest: 1, sync: true });
  if (options.pretty) {
    const pretty = loadPinoPretty();
    destination = pretty({ destination, colorize: false, sync: true, ignore: 'pid,hostname' });
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      redact: { paths: [...REDACT_TOP_LEVEL_PATHS], censor: REDACTED },
      formatters: {
        log: (obj) => redactSensitiveKeys(obj),
        bindings: (bindings) => redactSensitiveKeys(bindings),
      },
      hooks: { streamWrite: (line) => registry.scrub(line) },
    },
    destination as DestinationStream,
  );
}
