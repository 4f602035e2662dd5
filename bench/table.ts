import type { Summary } from './stats.js';

/** One line of the result table: a measured figure, or the reason it was not measured. */
export interface Row {
  section: string;
  figure: string;
  unit: string;
  value: Summary | { note: string };
  /** The target, when there is one, e.g. '<= 1.15'. */
  target?: string;
}

function fmt(n: number): string {
  const a = Math.abs(n);
  if (a >= 1000) return n.toFixed(0);
  if (a >= 100) return n.toFixed(1);
  if (a >= 10) return n.toFixed(2);
  return n.toFixed(3);
}

function cells(r: Row): string[] {
  const v = r.value;
  if ('note' in v) return [r.section, r.figure, v.note, '', '', '', r.unit, r.target ?? ''];
  return [r.section, r.figure, fmt(v.median), fmt(v.min), fmt(v.max), String(v.runs), r.unit, r.target ?? ''];
}

const HEAD = ['section', 'figure', 'median', 'min', 'max', 'runs', 'unit', 'target'];

export function textTable(rows: readonly Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i >= 2 && i <= 5 ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}
