import type { Command } from 'commander';
import { formatDuration } from '../../config/duration.js';
import { ConfigError, type ConfigProblem, configPath, readConfigFile } from '../../config/load.js';
import { checkRefs } from '../../config/refs.js';
import type { RotatorConfig, Schedule, TargetConfig } from '../../config/schema.js';
import { processSecrets } from '../../log/secret-registry.js';
import { EXIT, ExitError } from '../exit.js';

interface CheckConfigOptions {
  config?: string;
  resolve?: boolean;
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
 * `rotator check-config [--config F] [--resolve] [--json]`: every problem as `path: message` and exit
 * 2 (via ConfigError, printed by main), or one line per target and exit 0. With --json, stdout gets
 * `{ ok, file, targets }` or `{ ok: false, file, problems: [{ path, message }] }` (still exit 2).
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
    .option('--json', 'print the result as JSON on stdout (problems too)')
    .action((options: CheckConfigOptions) => {
      const file = configPath(options.config);
      const fail = (problems: ConfigProblem[]): never => {
        if (!options.json) throw new ConfigError(file, problems);
        process.stdout.write(`${JSON.stringify({ ok: false, file, problems }, null, 2)}\n`);
        throw new ExitError(EXIT.config);
      };
      const result = readConfigFile(file);
      if (!result.ok) return fail(result.problems);
      if (options.resolve) {
        const problems = checkRefs(result.config, process.env, processSecrets);
        if (problems.length > 0) fail(problems);
      }
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ ok: true, file, targets: targetSummaries(result.config) }, null, 2)}\n`
          : `${targetLines(result.config).join('\n')}\n`,
      );
    });
}
