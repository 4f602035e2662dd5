import { Option, type Command } from 'commander';
import { buildRotationHistory, withJobLogs } from '../../audit/history.js';
import type { JobLogSource } from '../../audit/job-logs.js';
import { AUDIT_FORMATS, type AuditFormat, formatHistory } from '../../audit/format.js';
import { readAuditTrail } from '../../audit/read.js';
import { parseTimeArg } from '../../audit/time-arg.js';
import { resolveAuditKey } from '../../audit/key.js';
import { parseAnchor, verifyAuditTrail } from '../../audit/verify.js';
import { configPath } from '../../config/load.js';
import { loadConfig } from '../../worker/config.js';
import type { RotatorConfig } from '../../config/schema.js';
import { EXIT, ExitError } from '../exit.js';

/** What the audit command needs from outside; all optional. */
export interface AuditCommandDeps {
  /** Opens the job logs of the configured queues (supplied by the worker's wiring). */
  openJobLogs?: (config: RotatorConfig) => Promise<JobLogSource>;
  now?: () => number;
  write?: (text: string) => void;
}

interface ListOptions {
  since?: string;
  until?: string;
  target?: string;
  format: AuditFormat;
  config?: string;
  file?: string;
}

interface VerifyOptions {
  config?: string;
  file?: string;
  anchor?: string;
  json?: boolean;
}

export function registerAudit(program: Command, deps: AuditCommandDeps = {}): void {
  const write = deps.write ?? ((text: string) => process.stdout.write(text));
  const now = deps.now ?? Date.now;

  const audit = program
    .command('audit')
    .description('Show the rotation history from the audit trail (and job logs where they still exist)')
    .option('--since <time>', 'only rotations active since: ISO date/time or a duration ago (7d, 12h)')
    .option('--until <time>', 'only rotations started until: ISO date/time or a duration ago')
    .option('--target <id>', 'only this target')
    .addOption(new Option('--format <format>', 'output format').choices(AUDIT_FORMATS).default('table'))
    .option('--config <file>', 'config file (default: $ROTATOR_CONFIG or config/rotator.yaml)')
    .option('--file <path>', 'read this audit trail instead of the configured one (no job logs)')
    .action(async (opts: ListOptions) => {
      const t = now();
      const since = parseTime('--since', opts.since, t);
      const until = parseTime('--until', opts.until, t);
      const config = opts.file ? undefined : loadConfig(configPath(opts.config));
      const path = opts.file ?? config!.audit.path;
      const trail = await readTrail(path);
      if (trail.unreadableLines.length > 0) {
        process.stderr.write(
          `warning: ${trail.unreadableLines.length} unreadable line(s) in ${path} (first at line ${trail.unreadableLines[0]}); run 'rotator audit verify'\n`,
        );
      }
      let history = buildRotationHistory(trail.records, {
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(opts.target !== undefined ? { targetId: opts.target } : {}),
      });
      if (config && deps.openJobLogs) {
        const source = await deps.openJobLogs(config).catch((err: unknown) => {
          process.stderr.write(`warning: job logs unavailable (${(err as Error).message})\n`);
          return undefined;
        });
        if (source) {
          try {
            history = await withJobLogs(history, source.lookup);
          } finally {
            await source.close();
          }
        }
      }
      write(formatHistory(history, opts.format));
    });

  audit
    .command('verify')
    .description('Check the audit trail is intact; exit 1 and print the first broken or missing record')
    .option('--config <file>', 'config file (default: $ROTATOR_CONFIG or config/rotator.yaml)')
    .option(
      '--file <path>',
      'verify this audit trail instead of the configured one (with --config too, for its audit.key)',
    )
    .option(
      '--anchor <seq:hash>',
      'also check the trail still holds this record (as printed by an earlier verify, kept elsewhere)',
    )
    .option('--json', 'print the result as JSON on stdout (a broken trail too, still exit 1)')
    .action(async (opts: VerifyOptions, cmd: Command) => {
      // `--config` may have been parsed by the parent command.
      const parent = cmd.parent?.opts<ListOptions>() ?? { format: 'table' };
      const file = opts.file ?? parent.file;
      const configFile = opts.config ?? parent.config;
      // With --file, the config (for audit.key) is read only when --config names it.
      const config =
        file !== undefined && configFile === undefined ? undefined : loadConfig(configPath(configFile));
      const path = file ?? config!.audit.path;
      const key = resolveAuditKey(config?.audit.key, { source: configPath(configFile) });
      const anchor = opts.anchor === undefined ? undefined : parseAnchor(opts.anchor);
      if (opts.anchor !== undefined && !anchor) {
        throw new ExitError(EXIT.usage, `--anchor must be <seq>:<64 hex digits>, got '${opts.anchor}'`);
      }
      let result;
      try {
        result = await verifyAuditTrail(path, { anchor, key });
      } catch (err) {
        const error = `audit trail ${path}: ${describeReadError(err)}`;
        if (!opts.json) throw new ExitError(EXIT.failure, error);
        write(`${JSON.stringify({ ok: false, file: path, error }, null, 2)}\n`);
        throw new ExitError(EXIT.failure);
      }
      if (opts.json) {
        // The same facts as the text, as { ok, file, records, lastSeq, lastHash, anchor? } or
        // { ok: false, file, records, problem: { line, expectedSeq, seq?, kind, message } }.
        write(
          `${JSON.stringify({ file: path, ...result, ...(anchor && result.ok ? { anchor } : {}) }, null, 2)}\n`,
        );
        if (!result.ok) throw new ExitError(EXIT.failure);
        return;
      }
      if (!result.ok) {
        const p = result.problem;
        throw new ExitError(
          EXIT.failure,
          `audit trail ${path} is BROKEN at line ${p.line} (expected seq ${p.expectedSeq}` +
            `${p.seq !== undefined && p.seq !== p.expectedSeq ? `, found seq ${p.seq}` : ''}): ${p.kind}: ${p.message}\n` +
            `${result.records} record(s) before it are intact`,
        );
      }
      write(
        `audit trail ${path} is intact: ${result.records} record(s), last seq ${result.lastSeq}, head ${result.lastHash}` +
          `${anchor ? `, holds anchor seq ${anchor.seq}` : ''}` +
          `${result.keyedFrom !== undefined ? `, HMAC-keyed from seq ${result.keyedFrom}` : ''}\n` +
          (result.lastSeq > 0
            ? `anchor for a later check (keep it outside this host): ${result.lastSeq}:${result.lastHash}\n`
            : ''),
      );
    });
}

function parseTime(option: string, value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseTimeArg(option, value, now);
  } catch (err) {
    throw new ExitError(EXIT.usage, (err as Error).message);
  }
}

async function readTrail(path: string) {
  try {
    return await readAuditTrail(path);
  } catch (err) {
    throw new ExitError(EXIT.failure, `audit trail ${path}: ${describeReadError(err)}`);
  }
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}
