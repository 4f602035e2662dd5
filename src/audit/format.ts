import type { RotationSummary } from './history.js';

export const AUDIT_FORMATS = ['table', 'json', 'csv'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

const COLUMNS = [
  'rotationId',
  'targetId',
  'provider',
  'trigger',
  'actor',
  'startedAt',
  'endedAt',
  'attempts',
  'outcome',
  'errorKind',
  'httpStatuses',
  'vendorCodes',
  'requestIds',
  'versionIds',
] as const satisfies readonly (keyof RotationSummary)[];

function cell(s: RotationSummary, column: (typeof COLUMNS)[number]): string {
  const v = s[column];
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(';') : String(v);
}

/** RFC 4180: quote a field holding a quote, comma, CR or LF (and one with outer spaces). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatCsv(history: readonly RotationSummary[]): string {
  const header = [...COLUMNS, 'jobLog'];
  const rows = history.map((s) => [...COLUMNS.map((c) => cell(s, c)), (s.jobLog ?? []).join('\n')]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function formatJson(history: readonly RotationSummary[]): string {
  return `${JSON.stringify(history, null, 2)}\n`;
}

const TABLE_COLUMNS = [
  ['STARTED', (s) => s.startedAt],
  ['ENDED', (s) => s.endedAt ?? ''],
  ['TARGET', (s) => s.targetId],
  ['PROVIDER', (s) => s.provider],
  ['TRIGGER', (s) => `${s.trigger}:${s.actor}`],
  ['ATTEMPTS', (s) => String(s.attempts)],
  ['OUTCOME', (s) => s.outcome + (s.errorKind ? ` (${s.errorKind})` : '')],
  ['HTTP', (s) => s.httpStatuses.join(',')],
  ['VENDOR', (s) => s.vendorCodes.join(',')],
  ['REQUEST IDS', (s) => s.requestIds.join(',')],
  ['VERSIONS', (s) => s.versionIds.join(',')],
  ['ROTATION', (s) => s.rotationId],
] as const satisfies readonly (readonly [string, (s: RotationSummary) => string])[];

export function formatTable(history: readonly RotationSummary[]): string {
  if (history.length === 0) return 'no rotations in the selected range\n';
  const rows = [
    TABLE_COLUMNS.map(([h]) => h as string),
    ...history.map((s) => TABLE_COLUMNS.map(([, f]) => f(s))),
  ];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const out = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  for (const s of history) {
    if (s.jobLog && s.jobLog.length > 0) {
      out.push('', `job log of ${s.rotationId} (${s.targetId}):`, ...s.jobLog.map((l) => `  ${l}`));
    }
  }
  return `${out.join('\n')}\n`;
}

export function formatHistory(history: readonly RotationSummary[], format: AuditFormat): string {
  switch (format) {
    case 'csv':
      return formatCsv(history);
    case 'json':
      return formatJson(history);
    case 'table':
      return formatTable(history);
  }
}
