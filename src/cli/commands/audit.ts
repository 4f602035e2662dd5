import type { Command } from 'commander';
import { ExitError } from '../exit.js';

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError(1, 'audit: not yet implemented');
    });
}
