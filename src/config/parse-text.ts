import { parseDocument } from 'yaml';
import type { ConfigProblem } from './problems.js';

/**
 * Config text to a plain JS value.
 *
 * JSON is YAML, so YAML's reading is the reference: a text is read with `JSON.parse` only when that
 * gives exactly what YAML would give (see {@link parseJson}), and otherwise as one YAML document,
 * which also reports every problem with its line and column.
 */
export type ParsedText = { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] };

export function parseText(text: string): ParsedText {
  const json = parseJson(text);
  if (json !== undefined) return { ok: true, value: json.value };
  return parseYaml(text);
}

/**
 * The text as one YAML document (`uniqueKeys`: a repeated key is an error, as in the schema's
 * intent). Only the plain value is returned, so the Document can be collected before validation.
 */
export function parseYaml(text: string): ParsedText {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length === 0) return { ok: true, value: doc.toJS() };
  return {
    ok: false,
    problems: doc.errors.map((e) => ({
      path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
      // prettyErrors appends " at line L, column C:" and a source excerpt; the path already says where.
      message: `invalid YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    })),
  };
}

/**
 * The value of a JSON config, or undefined when the text is not a JSON object or when JSON.parse
 * could read it differently from YAML; such a text goes to {@link parseYaml}, which decides and
 * reports. A key repeated in one object: YAML refuses it, JSON.parse keeps the last. A tab (YAML
 * allows one inside a string, JSON does not) or `__proto__`: anything unusual stays with YAML.
 */
export function parseJson(text: string): { value: unknown } | undefined {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '{') return undefined;
  if (text.includes('\t') || text.includes('__proto__')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return hasDuplicateKey(text) ? undefined : { value };
}

/**
 * Whether an object of a valid JSON text repeats a key. Scans the text once: a stack of the keys of
 * each open object; a string followed by `:` is a key (decoded, so "a" and "\u0061" are the same).
 */
export function hasDuplicateKey(json: string): boolean {
  const stack: (Set<string> | undefined)[] = [];
  const n = json.length;
  for (let i = 0; i < n; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(undefined);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < n; j++) {
        const d = json.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      const keys = stack[stack.length - 1];
      if (keys !== undefined) {
        let k = j + 1;
        while (k < n && (json[k] === ' ' || json[k] === '\n' || json[k] === '\r')) k++;
        if (json[k] === ':') {
          const raw = json.slice(i, j + 1);
          const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
          if (keys.has(key)) return true;
          keys.add(key);
        }
      }
      i = j;
    }
  }
  return false;
}
