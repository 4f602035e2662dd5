import type { Command } from 'commander';
import { configPath, loadConfig } from '../../config/load.js';
import { createClientConnection } from '../../queue/connection.js';
import { openQueues } from '../../queue/queues.js';
import { TargetStateStore } from '../../queue/target-state.js';
import { createRotationControl } from '../../worker/control.js';
import type { TargetStatus } from '../../worker/types.js';
import { EXIT, ExitError } from '../exit.js';
import { formatTable } from './table.js';

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
      const connection = createClientConnection(config.redis.url);
      try {
        await connection.connect().catch((err: Error) => {
          throw new ExitError(
            EXIT.failure,
            `status: cannot reach Redis at ${config.redis.url}: ${err.message}`,
          );
        });
        const queues = openQueues(connection, config.redis.prefix);
        const control = createRotationControl(
          config,
          queues,
          new TargetStateStore(connection, config.redis.prefix),
        );
        const statuses = await control.statuses();
        await queues.close();
        process.stdout.write(opts.json ? `${JSON.stringify(statuses, null, 2)}\n` : formatStatuses(statuses));
      } finally {
        connection.disconnect();
      }
    });
}
