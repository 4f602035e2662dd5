import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'demo: not yet implemented');
    });
}
