import type { Command } from 'commander';
import { formatDuration } from '../../config/duration.js';
import { configPath } from '../../config/load.js';
import { ConfigError, type ConfigProblem, formatPath } from '../../config/problems.js';
import { readConfigFile } from '../../worker/config.js';
import { checkRefs } from '../../config/refs.js';
import {
  insecureHttpWarnings,
  type RotatorConfig,
  type Schedule,
  type TargetConfig,
} from '../../config/schema.js';
import { systemClock } from '../../core/clock.js';
import { processSecrets } from '../../log/secret-registry.js';
import { redisTlsProblems } from '../../queue/connection.js';
import { createStore } from '../../secrets/index.js';
import type { SecretStore } from '../../secrets/types.js';
import { EXIT, ExitError } from '../exit.js';
import { formatLiveCheck, liveCheck } from './check-live.js';

interface CheckConfigOptions {
  config?: string;
  resolve?: boolean;
  live?: boolean;
  json?: boolean;
}

export function describeSchedule(schedule: Schedule): string {
  return 'cron' in schedule
    ? `cron "${schedule.cron}" ${schedule.tz}`
    : `every ${formatDuration(schedule.every)}`;
}

/** One line per target: id, provider, schedule, secret id (columns aligned). */
export function targetLines(config: RotatorConfig): string[] {
  const rows = config.targets.map((t: TargetConfig) => [
    t.id,
    t.provider,
    describeSchedule(t.schedule ?? config.defaults.schedule),
    `secret ${t.secret.id}${t.enabled ? '' : ' (disabled)'}`,
  ]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join('  '));
}

/** What `check-config --json` prints for a valid config: one object per target. */
export function targetSummaries(config: RotatorConfig) {
  return config.targets.map((t: TargetConfig) => ({
    id: t.id,
    provider: t.provider,
    schedule: t.schedule ?? config.defaults.schedule,
    secretId: t.secret.id,
    enabled: t.enabled,
  }));
}

/**
 * `rotator check-config [--config F] [--resolve] [--live] [--json]`: every problem as `path: message`
 * and exit 2 (via ConfigError, printed by main), or one line per target and exit 0 (after any
 * `warning:` lines on stderr, e.g. a target allowed to use http://). With --json, stdout gets
 * `{ ok, file, targets }` or `{ ok: false, file, problems: [{ path, message }] }` (still exit 2);
 * with --live too, `targets` holds each target's live checks.
 */
export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('Validate the configuration file and list its targets')
    .option('-c, --config <file>', 'config file (default: $ROTATOR_CONFIG, else config/rotator.yaml)')
    .option(
      '--resolve',
      'also check that every { env } / { file } reference resolves (values are never printed)',
    )
    .option(
      '--live',
      'also check every enabled target against its cloud and the store, read-only: credentials, ' +
        'cluster (status API), security mode, manager user, secret; exit 1 naming each target that would fail',
    )
    .option('--json', 'print the result as JSON on stdout (problems too)')
    .action(async (options: CheckConfigOptions) => {
      const file = configPath(options.config);
      const fail = (problems: ConfigProblem[]): never => {
        if (!options.json) throw new ConfigError(file, problems);
        process.stdout.write(`${JSON.stringify({ ok: false, file, problems }, null, 2)}\n`);
        throw new ExitError(EXIT.config);
      };
      const result = readConfigFile(file);
      if (!result.ok) return fail(result.problems);
      if (options.resolve) {
        const problems = [
          ...checkRefs(result.config, process.env, processSecrets),
          ...redisTlsProblems(result.config.redis),
        ];
        if (problems.length > 0) fail(problems);
      }
      for (const w of insecureHttpWarnings(result.config)) {
        process.stderr.write(`warning: ${formatPath(w.path)}: ${w.message}\n`);
      }
      if (options.live) {
        await checkLive(file, result.config, options.json === true);
        return;
      }
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ ok: true, file, targets: targetSummaries(result.config) }, null, 2)}\n`
          : `${targetLines(result.config).join('\n')}\n`,
      );
    });
}

/** `--live`: a table per target; exit 1 naming every target that would fail (see check-live.ts). */
async function checkLive(file: string, config: RotatorConfig, json: boolean): Promise<void> {
  let store: SecretStore;
  try {
    store = createStore(config.store, { env: process.env });
  } catch (err) {
    throw new ConfigError(file, [{ path: 'store', message: (err as Error).message }]);
  }
  try {
    const results = await liveCheck(config, {
      env: process.env,
      registry: processSecrets,
      fetch: globalThis.fetch,
      clock: systemClock,
      store,
    });
    const failing = results.filter((r) => !r.ok).map((r) => r.id);
    process.stdout.write(
      json
        ? `${JSON.stringify({ ok: failing.length === 0, file, targets: results }, null, 2)}\n`
        : formatLiveCheck(results),
    );
    if (failing.length > 0) {
      throw new ExitError(
        EXIT.failure,
        `check-config --live: ${failing.length} of ${results.length} target(s) would fail: ${failing.join(', ')}`,
      );
    }
    if (json) return;
    const checked = results.filter((r) => r.checked).length;
    process.stdout.write(`\ncheck-config --live: all ${checked} enabled target(s) pass\n`);
  } finally {
    await store.close();
  }
}
