import { readFile } from 'node:fs/promises';
import { type AuditRecord, recordShapeProblem } from './record.js';

export interface ReadTrailResult {
  records: AuditRecord[];
  /** Line numbers that could not be read as records (see `rotator audit verify`). */
  unreadableLines: number[];
}

/** Reads every record of a trail, for reporting. It does not verify the chain. */
export async function readAuditTrail(path: string): Promise<ReadTrailResult> {
  const text = await readFile(path, 'utf8');
  const records: AuditRecord[] = [];
  const unreadableLines: number[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    try {
      const value: unknown = JSON.parse(line);
      if (recordShapeProblem(value) === undefined) {
        records.push(value as AuditRecord);
        return;
      }
    } catch {
      // counted below
    }
    unreadableLines.push(i + 1);
  });
  return { records, unreadableLines };
}
