import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { configPath } from '../../config/load.js';
import { loadConfig } from '../../worker/config.js';
import { enqueueRotation } from '../../queue/enqueue.js';
import { type RotationOutcome, waitForRotations } from '../../queue/wait.js';
import { DisabledTargetsError, UnknownTargetsError } from '../../worker/control.js';
import { EXIT, ExitError } from '../exit.js';
import { withCliClient } from './client.js';
import { formatTable } from '../../util/table.js';

interface RotateOptions {
  all?: boolean;
  wait?: boolean;
  json?: boolean;
  config?: string;
  timeout: string;
}

/** Who asked, for the audit trail: the OS user. */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export function registerRotate(program: Command): void {
  program
    .command('rotate')
    .description('Rotate the given targets now (or --all); a running worker does the work')
    .argument('[ids...]', 'target ids')
    .option('--all', 'every enabled target')
    .option('--wait', 'wait for the outcomes; exit 0 only if every rotation succeeded')
    .option('--timeout <duration>', 'with --wait: how long to wait', '1h')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'config file (default: $ROTATOR_CONFIG or config/rotator.yaml)')
    .action(async (ids: string[], opts: RotateOptions) => {
      if (opts.all && ids.length)
        throw new ExitError(EXIT.usage, 'rotate: give target ids or --all, not both');
      if (!opts.all && ids.length === 0) throw new ExitError(EXIT.usage, 'rotate: give target ids or --all');
      const timeoutMs = parseDuration(opts.timeout);
      if (timeoutMs === undefined)
        throw new ExitError(
          EXIT.usage,
          `--timeout: invalid duration '${opts.timeout}': use e.g. 30s, 5m, 1h`,
        );
      const config = loadConfig(configPath(opts.config));
      await withCliClient('rotate', config, async ({ queues, control }) => {
        const actor = osUser();
        let enqueued;
        try {
          enqueued = await control.rotate({ targets: opts.all ? 'all' : ids, trigger: 'cli', actor });
        } catch (err) {
          if (err instanceof UnknownTargetsError || err instanceof DisabledTargetsError)
            throw new ExitError(EXIT.usage, `rotate: ${err.message}`);
          throw err;
        }
        if (!opts.wait) {
          if (opts.json) process.stdout.write(`${JSON.stringify(enqueued, null, 2)}\n`);
          else
            for (const e of enqueued)
              process.stdout.write(
                `${e.targetId}\t${e.jobId}${e.deduplicated ? '\t(joined a rotation already queued)' : ''}\n`,
              );
          return;
        }
        const keep = { keepCompleted: config.jobs.keepCompleted, keepFailed: config.jobs.keepFailed };
        const outcomes = await waitForRotations(queues.rotations, enqueued, {
          timeoutMs,
          resubmit: (targetId) => enqueueRotation(queues, { targetId, trigger: 'cli', actor }, { keep }),
        });
        printOutcomes(outcomes, opts.json === true);
        if (!outcomes.every((o) => o.outcome === 'succeeded')) process.exitCode = EXIT.failure;
      });
    });
}

function printOutcomes(outcomes: RotationOutcome[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    formatTable(
      ['TARGET', 'OUTCOME', 'ATTEMPTS', 'JOB', 'DETAIL'],
      outcomes.map((o) => [
        o.targetId,
        o.outcome,
        String(o.attempts ?? ''),
        o.jobId,
        o.detail ?? o.versionId ?? '',
      ]),
    ),
  );
}
