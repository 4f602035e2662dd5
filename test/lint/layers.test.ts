import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations; its shapes are checked below
import { checkLayers, folderCycles } from '../../scripts/check-layers.mjs';

interface Report {
  violations: { rule: string; from: string; to: string }[];
  folderCycles: { folders: string[]; edges: string[] }[];
}

const fixture = fileURLToPath(new URL('../fixtures/layers', import.meta.url));

describe('the layer check (.dependency-cruiser.cjs and scripts/check-layers.mjs)', () => {
  it('reports a type-only import up from ground, jobs importing test/, and a folder cycle', async () => {
    const report = (await checkLayers({ baseDir: fixture })) as Report;
    expect(report.violations).toEqual([
      { rule: 'layer-ground', from: 'src/core/clock.ts', to: 'src/worker/state.ts' },
      { rule: 'no-tests-in-production', from: 'jobs/run.ts', to: 'test/helper.ts' },
    ]);
    expect(report.folderCycles).toEqual([
      {
        folders: ['src/cli', 'src/http'],
        edges: [
          'src/cli -> src/http (src/cli/table.ts -> src/http/port.ts)',
          'src/http -> src/cli (src/http/serve.ts -> src/cli/table.ts)',
        ],
      },
    ]);
  });

  it('finds the cycles in a folder graph and nothing in an acyclic one', () => {
    const graph = (pairs: [string, string][]) => {
      const edges = new Map<string, Set<string>>();
      for (const [from, to] of pairs) edges.set(from, new Set([...(edges.get(from) ?? []), to]));
      return edges;
    };
    expect(
      folderCycles(
        graph([
          ['a', 'b'],
          ['b', 'c'],
          ['a', 'c'],
        ]),
      ),
    ).toEqual([]);
    expect(
      folderCycles(
        graph([
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'a'],
          ['d', 'e'],
          ['e', 'd'],
          ['e', 'a'],
        ]),
      ),
    ).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('finds no layer breach and no cycle in the tree itself', async () => {
    const report = (await checkLayers()) as Report;
    expect(report.violations).toEqual([]);
    expect(report.folderCycles).toEqual([]);
  });
});
