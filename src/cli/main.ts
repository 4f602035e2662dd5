import { Command, CommanderError } from 'commander';
import { ConfigError, formatProblems } from '../config/problems.js';
import { processSecrets } from '../log/secret-registry.js';
import { openJobLogSource } from '../queue/job-logs.js';
import { registerAudit } from './commands/audit.js';
import { registerCheckConfig } from './commands/check-config.js';
import { registerDemo } from './commands/demo.js';
import { registerRotate } from './commands/rotate.js';
import { registerSandbox } from './commands/sandbox.js';
import { registerStatus } from './commands/status.js';
import { registerWorker } from './commands/worker.js';
import { EXIT, ExitError } from './exit.js';
import { packageVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('rotator')
    .description('Rotates cluster passwords on Naver Cloud CDSS, Huawei Cloud CSS and Open Telekom Cloud CSS')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerCheckConfig,
    registerWorker,
    registerRotate,
    registerStatus,
    (p: Command) => registerAudit(p, { openJobLogs: openJobLogSource }),
    registerSandbox,
    registerDemo,
  ]) {
    register(program);
  }
  return program;
}

/** The one place where errors become exit codes and messages (no stack traces for users). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${formatProblems(err.problems)}\n`);
      return EXIT.config;
    }
    // Scrubbed: a message may echo a secret this process resolved (a Redis password, a credential).
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(`${processSecrets.scrub(err.message)}\n`);
      return err.code;
    }
    const e = err as Error;
    process.stderr.write(
      processSecrets.scrub(`rotator: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}\n`),
    );
    if (process.env.ROTATOR_DEBUG) process.stderr.write(processSecrets.scrub(`${e?.stack ?? ''}\n`));
    return EXIT.failure;
  }
}
