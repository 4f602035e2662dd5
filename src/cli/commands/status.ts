import type { Command } from 'commander';
import { configPath } from '../../config/load.js';
import { loadConfig } from '../../worker/config.js';
import type { TargetStatus } from '../../rotation/target-status.js';
import { withCliClient } from './client.js';
import { formatTable } from '../../util/table.js';

const iso = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function formatStatuses(statuses: TargetStatus[]): string {
  return formatTable(
    ['TARGET', 'PROVIDER', 'SCHEDULE', 'NEXT RUN', 'LAST SUCCESS', 'LAST OUTCOME', 'OVERDUE'],
    statuses.map((s) => [
      s.id,
      s.provider,
      s.schedule,
      iso(s.nextRunAt),
      iso(s.lastSuccessAt),
      s.lastOutcome ? `${s.lastOutcome}${s.lastErrorKind ? ` (${s.lastErrorKind})` : ''}` : '-',
      s.overdue ? 'OVERDUE' : 'no',
    ]),
  );
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Per target: schedule, next run, last success and outcome, overdue flag')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'config file (default: $ROTATOR_CONFIG or config/rotator.yaml)')
    .action(async (opts: { json?: boolean; config?: string }) => {
      const config = loadConfig(configPath(opts.config));
      const statuses = await withCliClient('status', config, ({ control }) => control.statuses());
      process.stdout.write(opts.json ? `${JSON.stringify(statuses, null, 2)}\n` : formatStatuses(statuses));
    });
}
