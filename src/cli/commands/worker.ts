import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'worker: not yet implemented');
    });
}
