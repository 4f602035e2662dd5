import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'check-config: not yet implemented');
    });
}
