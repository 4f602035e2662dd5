import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'sandbox: not yet implemented');
    });
}
