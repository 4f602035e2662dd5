import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'status: not yet implemented');
    });
}
