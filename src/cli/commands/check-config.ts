import type { Command } from 'commander';
import { formatDuration } from '../../config/duration.js';
import { ConfigError, configPath, formatPath, readConfigFile } from '../../config/load.js';
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

/**
 * `rotator check-config [--config F] [--resolve]`: every problem as `path: message` and exit 2 (via
 * ConfigError, printed by main), or one line per target and exit 0 (after any `warning:` lines on
 * stderr, e.g. a target allowed to use http://).
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
    .action(async (options: CheckConfigOptions) => {
      const file = configPath(options.config);
      const result = readConfigFile(file);
      if (!result.ok) throw new ConfigError(file, result.problems);
      if (options.resolve) {
        const problems = [
          ...checkRefs(result.config, process.env, processSecrets),
          ...redisTlsProblems(result.config.redis),
        ];
        if (problems.length > 0) throw new ConfigError(file, problems);
      }
      for (const w of insecureHttpWarnings(result.config)) {
        process.stderr.write(`warning: ${formatPath(w.path)}: ${w.message}\n`);
      }
      if (!options.live) {
        process.stdout.write(`${targetLines(result.config).join('\n')}\n`);
        return;
      }
      await checkLive(file, result.config);
    });
}

/** `--live`: a table per target; exit 1 naming every target that would fail (see check-live.ts). */
async function checkLive(file: string, config: RotatorConfig): Promise<void> {
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
    process.stdout.write(formatLiveCheck(results));
    const failing = results.filter((r) => !r.ok).map((r) => r.id);
    if (failing.length > 0) {
      throw new ExitError(
        EXIT.failure,
        `check-config --live: ${failing.length} of ${results.length} target(s) would fail: ${failing.join(', ')}`,
      );
    }
    const checked = results.filter((r) => r.checked).length;
    process.stdout.write(`\ncheck-config --live: all ${checked} enabled target(s) pass\n`);
  } finally {
    await store.close();
  }
}
