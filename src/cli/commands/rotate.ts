import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerRotate(program: Command): void {
  program
    .command('rotate')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'rotate: not yet implemented');
    });
}
