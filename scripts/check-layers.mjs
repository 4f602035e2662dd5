#!/usr/bin/env node
// Checks the layer order of the tree (see .dependency-cruiser.cjs): runs dependency-cruiser with the
// project's rules, then adds the one check its rules cannot state: no cycle between top folders
// (src/<x>, jobs). Exits 1 and prints every violation when there is one. `npm run lint` runs it.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const require = createRequire(import.meta.url);
const projectRoot = resolve(fileURLToPath(import.meta.url), '../..');

/** The top folder a path belongs to: `src/<x>` or `jobs`, or undefined outside the layers. */
export function topFolder(path) {
  return /^(src\/[^/]+|jobs)\//.exec(path)?.[1];
}

/**
 * Cycles in the graph of top folders, each as the list of folders in it (Tarjan's strongly
 * connected components of more than one folder), sorted so the report is stable.
 * @param {Map<string, Set<string>>} edges
 */
export function folderCycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  let next = 0;
  const visit = (folder) => {
    index.set(folder, next);
    low.set(folder, next);
    next += 1;
    stack.push(folder);
    onStack.add(folder);
    for (const target of edges.get(folder) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(folder, Math.min(low.get(folder), low.get(target)));
      } else if (onStack.has(target)) {
        low.set(folder, Math.min(low.get(folder), index.get(target)));
      }
    }
    if (low.get(folder) === index.get(folder)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== folder);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const folder of [...edges.keys()].sort()) if (!index.has(folder)) visit(folder);
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Cruises `baseDir` (the project, or a fixture tree shaped like it) with the project's rules.
 * @param {{ baseDir?: string }} [options]
 */
export async function checkLayers({ baseDir = projectRoot } = {}) {
  const { forbidden, options, layers } = require(resolve(projectRoot, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(resolve(baseDir, options.tsConfig.fileName));
  const result = await cruise(
    ['src', 'jobs'],
    {
      ...options,
      tsConfig: { fileName: resolve(baseDir, options.tsConfig.fileName) },
      baseDir,
      ruleSet: { forbidden },
      validate: true,
    },
    undefined,
    { tsConfig },
  );
  const { modules, summary } = /** @type {import('dependency-cruiser').ICruiseResult} */ (result.output);
  const violations = summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));

  /** @type {Map<string, Set<string>>} */
  const edges = new Map();
  /** @type {Map<string, string[]>} */
  const examples = new Map();
  for (const module of modules) {
    const from = topFolder(module.source);
    if (from === undefined) continue;
    for (const dependency of module.dependencies) {
      const to = topFolder(dependency.resolved);
      if (to === undefined || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from).add(to);
      const key = `${from} -> ${to}`;
      examples.set(key, [...(examples.get(key) ?? []), `${module.source} -> ${dependency.resolved}`]);
    }
  }
  // In a cycle across layers the edges that go up are reported as layer breaches already; the
  // edges worth naming here are those between folders of one layer.
  const layerOf = new Map(layers.flatMap((layer, rank) => layer.folders.map((folder) => [folder, rank])));
  const cycles = folderCycles(edges).map((folders) => ({
    folders,
    edges: [...examples.entries()]
      .filter(([key]) => {
        const [from, to] = key.split(' -> ');
        return folders.includes(from) && folders.includes(to) && layerOf.get(from) === layerOf.get(to);
      })
      .map(([key, list]) => `${key} (${list[0]}${list.length > 1 ? ` and ${list.length - 1} more` : ''})`),
  }));
  return { violations, folderCycles: cycles };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { violations, folderCycles: cycles } = await checkLayers();
  for (const v of violations) console.error(`${v.rule}: ${v.from} -> ${v.to}`);
  for (const cycle of cycles) {
    console.error(`no-folder-cycle: ${cycle.folders.join(' <-> ')}`);
    for (const edge of cycle.edges) console.error(`  ${edge}`);
  }
  const count = violations.length + cycles.length;
  console.log(count === 0 ? 'layers: no violations' : `layers: ${count} violation(s)`);
  process.exitCode = count === 0 ? 0 : 1;
}
