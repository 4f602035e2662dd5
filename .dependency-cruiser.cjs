/**
 * The layer order of the tree (issue #15), lowest first. A folder imports only from its own layer
 * or below; type-only imports count too (tsPreCompilationDeps). Tests, bench and scripts stand
 * outside the layers and may import anything, but nothing in src/ or jobs/ may import them.
 *
 * Folder cycles between top folders (src/<x>, jobs) inside one layer are not expressible as a
 * dependency-cruiser rule (its folder rules work on every directory depth); scripts/check-layers.mjs
 * runs these rules and adds that check, and `npm run lint` runs it.
 *
 * @type {{ name: string, folders: string[] }[]}
 */
const layers = [
  { name: 'ground', folders: ['src/core', 'src/util', 'src/log'] },
  { name: 'config-policy', folders: ['src/config', 'src/policy'] },
  { name: 'providers-stores', folders: ['src/providers', 'src/secrets'] },
  { name: 'rotation', folders: ['src/rotation'] },
  { name: 'audit-alerts-metrics', folders: ['src/audit', 'src/alerts', 'src/metrics', 'src/telemetry'] },
  { name: 'queue', folders: ['src/queue', 'src/requests'] },
  { name: 'jobs', folders: ['jobs'] },
  { name: 'worker', folders: ['src/worker'] },
  { name: 'faces', folders: ['src/cli', 'src/http', 'src/demo', 'src/sandbox', 'src/client'] },
];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const under = (folders) => `^(${folders.map(escape).join('|')})/`;

const layerRules = layers.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer.name}`,
  severity: 'error',
  comment: `${layer.folders.join(', ')} may import only from layer ${layer.name} or below`,
  from: { path: under(layer.folders) },
  to: { path: under(layers.slice(index + 1).flatMap((above) => above.folders)) },
}));

/** @type {import('dependency-cruiser').IConfiguration & { layers: typeof layers }} */
module.exports = {
  layers,
  forbidden: [
    ...layerRules,
    {
      name: 'no-tests-in-production',
      severity: 'error',
      comment: 'src/ and jobs/ ship; test/, bench/ and scripts/ do not',
      from: { path: '^(src|jobs)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-module-cycle',
      severity: 'error',
      comment: 'a module must not reach itself through its imports',
      from: { path: '^(src|jobs)/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'an import that resolves to nothing is a typo or a missing dependency',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
