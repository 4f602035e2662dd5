import type { Command } from 'commander';
import { runDemo } from '../../demo/run.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Rotate a few simulated clusters (sandbox, private Redis, file store) and keep running until Ctrl-C',
    )
    .option('--once', 'exit after the first round: 0 if every outcome is the expected one')
    .action(async (opts: { once?: boolean }) => {
      process.exitCode = await runDemo({ once: opts.once === true, out: process.stdout });
    });
}
