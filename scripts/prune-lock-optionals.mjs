// `npm ci` refuses a lockfile in which a package lists an optional dependency that the lockfile
// does not hold. npm leaves such entries out when the registry it used does not serve that
// platform's build (msgpackr-extract's darwin/win32 binaries on a Linux-only mirror). Those
// binaries are optional accelerators (msgpackr falls back to JavaScript), so dropping the dangling
// names keeps `npm ci` working everywhere. Run after any `npm install` that rewrites the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const held = new Set(Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, '')));
const dropped = [];
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    if (!held.has(dep)) {
      delete pkg.optionalDependencies[dep];
      dropped.push(`${path || '(root)'} -> ${dep}`);
    }
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  dropped.length ? `dropped ${dropped.length} dangling optional deps:\n${dropped.join('\n')}` : 'lockfile ok',
);
