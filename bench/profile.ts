import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  topFrames: Frame[];
  /** Self time grouped by where the code lives (a package, our folder, node internals). */
  byArea: Frame[];
}

function area(url: string, root: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) {
    if (url.includes('/deps/undici/')) return 'node: undici (global fetch)';
    if (url.includes('/webstreams/') || url.includes('worker/js_transferable')) return 'node: web streams';
    if (url.includes('/fs/') || url === 'node:fs') return 'node: fs';
    if (url.includes('/crypto/')) return 'node: crypto';
    if (url.includes('/modules/')) return 'node: module loading';
    if (url.includes('/streams/') || url === 'node:net' || url === 'node:stream')
      return 'node: net and streams';
    return 'node: other internals';
  }
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const rel = relative(root, path).split('/');
  return rel.slice(0, rel[0] === 'dist' ? 3 : 2).join('/');
}

/** Self time per function and per area over every .cpuprofile in `dir`. */
export function summarizeProfiles(dir: string, root: string, top = 15): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    prof.samples.forEach((id, i) => {
      const ms = (prof.timeDeltas[i] ?? 0) / 1000;
      const node = byId.get(id);
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      total += ms;
      if (functionName === '(idle)' || functionName === '(program)') {
        if (functionName === '(idle)') idle += ms;
      }
      if (functionName === '(idle)') return;
      const where = url === '' ? '' : ` ${area(url, root)}:${lineNumber + 1}`;
      const key = `${functionName || '(anonymous)'}${where}`;
      self.set(key, (self.get(key) ?? 0) + ms);
      const a = functionName === '(garbage collector)' ? 'GC' : area(url, root);
      areas.set(a, (areas.get(a) ?? 0) + ms);
    });
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, selfMs: ms, share: busy > 0 ? ms / busy : 0 }));
  return { totalMs: total, idleMs: idle, topFrames: rank(self, top), byArea: rank(areas, 16) };
}
