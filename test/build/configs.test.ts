// The production build (`npm run build`, the tests' global setup, the image) compiles src and jobs
// only; the bench has its own config, compiled by `npm run bench` into dist/bench beside them.
// TypeScript's own config reader lists each program's files, so `extends` and globs count as tsc sees them.
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Program {
  /** The top folders of `files`, sorted. */
  folders: string[];
  /** The files the config compiles, relative to the root. */
  files: string[];
  options: ts.CompilerOptions;
}

function program(config: string): Program {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, config), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`${config}: not readable`);
  expect(parsed.errors).toEqual([]);
  const files = parsed.fileNames.map((f) => relative(root, f).split(sep).join('/'));
  const { configFilePath: _, ...options } = parsed.options;
  return { folders: [...new Set(files.map((f) => f.split('/')[0]!))].sort(), files, options };
}

describe('build configs', () => {
  it('compiles only src and jobs for production and the image, into dist', () => {
    expect(program('tsconfig.build.json').folders).toEqual(['jobs', 'src']);
    expect(program('tsconfig.image.json').folders).toEqual(['jobs', 'src']);
  });

  it('compiles the bench with src and jobs, with the production options, into dist/bench', () => {
    const bench = program('tsconfig.bench.json');
    const build = program('tsconfig.build.json');
    expect(bench.folders).toEqual(['bench', 'jobs', 'src']);
    expect(bench.files).toEqual(expect.arrayContaining(build.files));
    expect(bench.files).toContain('bench/run.ts');
    // dist/bench/scenarios/worker.ts forks dist/src/cli/bin.js: both trees must land side by side.
    expect(bench.options).toEqual(build.options);
  });

  it('builds the bench before `npm run bench` runs it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.bench).toBe('tsc -p tsconfig.bench.json && node dist/bench/run.js');
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
  });
});
