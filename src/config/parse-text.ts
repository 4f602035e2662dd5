import { isMap, parseDocument } from 'yaml';
import type { ConfigProblem } from './load.js';

/**
 * Config text to a plain JS value, cheaply for large configs.
 *
 * One `yaml` Document of a config with 10,000 targets costs ~2 s and ~200 MB of concrete syntax
 * tree while it is composed, so the text is read by the first of these that applies:
 *
 * 1. JSON (JSON is YAML): `JSON.parse`, only when the text has no duplicate key (which YAML rejects
 *    with `uniqueKeys`), no tab and no `__proto__`; anything else goes on to 2.
 * 2. The `targets:` list in pieces: the top-level `targets:` block sequence is cut at its item lines
 *    into runs of {@link CHUNK_ITEMS} items, each parsed as a YAML document of its own, and the rest
 *    of the text as another. Taken only when every piece parses without an error and has the expected
 *    shape; an alias to an anchor of another piece, a directive, a tab in the indentation or anything
 *    unexpected fails a piece, and the whole text goes on to 3.
 * 3. One YAML document, the way it always was read. Every problem is reported from here (re-parsed
 *    with `prettyErrors` for the line and column), so errors read exactly as before.
 */
export type ParsedText = { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] };

const YAML_OPTIONS = { uniqueKeys: true, prettyErrors: false } as const;

/** Items of `targets` per piece: small enough that a piece dies young (measured 5-20 fastest at 10k targets). */
export const CHUNK_ITEMS = 10;

export function parseText(text: string): ParsedText {
  const json = parseJson(text);
  if (json !== undefined) return { ok: true, value: json.value };
  const chunked = parseYamlInChunks(text);
  if (chunked !== undefined) return { ok: true, value: chunked.value };
  return parseYamlWhole(text);
}

/** Plain JS of one clean YAML document, or undefined when it has an error (the Document is not kept). */
function yamlValue(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0) return undefined;
  return { value: doc.toJS() };
}

/**
 * Like yamlValue, for a piece: also undefined when toJS throws (an alias whose anchor is in another
 * piece is only detected there), so that the whole document decides.
 */
function pieceValue(text: string): { value: unknown } | undefined {
  try {
    return yamlValue(text);
  } catch {
    return undefined;
  }
}

/** The reference path: the whole text as one YAML document; problems name line and column. */
export function parseYamlWhole(text: string): ParsedText {
  const clean = yamlValue(text);
  if (clean !== undefined) return { ok: true, value: clean.value };
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  return {
    ok: false,
    problems: doc.errors.map((e) => ({
      path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
      message: `invalid YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    })),
  };
}

/**
 * The value of a JSON text, or undefined when the text is not JSON or JSON.parse could read it
 * differently from YAML: a key repeated in one object (YAML's uniqueKeys rejects it, JSON.parse keeps
 * the last), `__proto__`, a tab (stay on the YAML path for anything unusual).
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

const TARGETS_LINE = /^targets:(?:[ \t]+(?:#.*)?)?\r?$/;
const NEUTRAL_LINE = /^ *(?:#.*)?\r?$/; // blank or a comment only

/**
 * The value of a YAML text read in pieces (see the module comment), or undefined when the text does
 * not have the plain layout this needs or any piece has a problem: the caller then reads it whole.
 */
export function parseYamlInChunks(text: string, chunkItems = CHUNK_ITEMS): { value: unknown } | undefined {
  // Line starts; only lines are looked at, never the YAML inside them.
  const lineStarts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineAt = (l: number) =>
    text.slice(lineStarts[l], l + 1 < lineStarts.length ? lineStarts[l + 1] : undefined);
  const lines = lineStarts.length;

  let targetsLine = -1;
  for (let l = 0; l < lines; l++) {
    const c = text[lineStarts[l]!];
    if (c === '%') return undefined; // a directive applies to the whole document
    if (c === 't' && TARGETS_LINE.test(lineAt(l).replace(/\n$/, ''))) {
      if (targetsLine >= 0) return undefined; // twice: let the whole document report it
      targetsLine = l;
    }
  }
  if (targetsLine < 0) return undefined;

  // The block sequence under `targets:`: item lines at one indentation, deeper lines belong to the
  // item above; blank and comment lines are neutral; any other line ends it.
  let seqIndent = -1;
  const itemLines: number[] = [];
  let end = lines;
  for (let l = targetsLine + 1; l < lines; l++) {
    const line = lineAt(l).replace(/\n$/, '');
    if (NEUTRAL_LINE.test(line)) continue;
    const indent = /^ */.exec(line)![0].length;
    if (/\s/.test(line[indent]!)) return undefined; // a tab (or other blank) in the indentation
    const isItem = line[indent] === '-' && (indent + 1 === line.length || /[ \r]/.test(line[indent + 1]!));
    if (seqIndent < 0) {
      if (!isItem) return undefined;
      seqIndent = indent;
    }
    if (indent > seqIndent) continue;
    if (indent === seqIndent && isItem) {
      itemLines.push(l);
      continue;
    }
    end = l;
    break;
  }
  if (itemLines.length === 0) return undefined;

  const blockStart = lineStarts[targetsLine + 1]!;
  const blockEnd = end < lines ? lineStarts[end]! : text.length;
  const items: unknown[] = [];
  for (let first = 0; first < itemLines.length; first += chunkItems) {
    const from = first === 0 ? blockStart : lineStarts[itemLines[first]!]!;
    const next = itemLines[first + chunkItems];
    const to = next === undefined ? blockEnd : lineStarts[next]!;
    const piece = pieceValue(text.slice(from, to));
    const count = Math.min(chunkItems, itemLines.length - first);
    if (piece === undefined || !Array.isArray(piece.value) || piece.value.length !== count) return undefined;
    for (const item of piece.value as unknown[]) items.push(item);
  }

  // The rest keeps the `targets:` line (so its key order and uniqueness are checked) with no value.
  const restDoc = parseDocument(text.slice(0, blockStart) + text.slice(blockEnd), YAML_OPTIONS);
  // Only a block mapping at the root: a flow `{ ... }` root cannot hold a block `targets:` list (the
  // whole-document parse rejects it), so cutting it out would accept what YAML refuses.
  if (restDoc.errors.length > 0 || !isMap(restDoc.contents) || restDoc.contents.flow) return undefined;
  let root: unknown;
  try {
    root = restDoc.toJS();
  } catch {
    return undefined;
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return undefined;
  if (!Object.hasOwn(root, 'targets') || (root as Record<string, unknown>).targets !== null) return undefined;
  (root as Record<string, unknown>).targets = items;
  return { value: root };
}
