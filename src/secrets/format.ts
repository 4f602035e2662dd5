/**
 * What a secret's text holds, and how the next version's text is written from the current one.
 * The stores keep the text opaque (byte for byte); only this module reads or writes inside it.
 *
 * - `json`: a JSON object. The rotator owns `password`, fills `username` and `engine` only when they
 *   are absent, and keeps every other byte of the document as it was (order, types, spacing,
 *   number spelling): the next version is the current text with the password's value replaced.
 * - `text`: the whole text is the password.
 */

import { DEFAULT_SECRET_FORMAT, type SecretFormat } from '../config/secret-formats.js';

/** A target's `secret.format`, `json` when the config does not say. */
export function secretFormatOf(target: { secret: { format?: SecretFormat | undefined } }): SecretFormat {
  return target.secret.format ?? DEFAULT_SECRET_FORMAT;
}

/** A text that is not readable in the configured format. Names a shape, never any of the content. */
export class SecretFormatError extends Error {
  override name = 'SecretFormatError' as const;
  constructor(
    readonly format: SecretFormat,
    /** What was found instead, e.g. "a JSON array", "text that is not JSON". */
    readonly found: string,
  ) {
    super(`not readable as ${format}: found ${found}`);
  }
}

/** A version's text, read in its format. */
export interface SecretContent {
  format: SecretFormat;
  /** The text exactly as stored. */
  text: string;
  /**
   * The password. Undefined only for a `json` document that has no `password` field yet (a
   * secret created by hand for the rotator to fill); its next version gets one.
   */
  password: string | undefined;
  /** json: the top-level fields, in document order (parsed values). */
  fields?: Record<string, unknown>;
}

/** Reads `text` in `format`; throws SecretFormatError when it cannot. */
export function readSecret(text: string, format: SecretFormat): SecretContent {
  if (typeof text !== 'string' || text.length === 0) throw new SecretFormatError(format, 'an empty value');
  if (format === 'text') {
    if (text.trim().length === 0) throw new SecretFormatError(format, 'only whitespace');
    if (parsesAsObject(text)) {
      throw new SecretFormatError(format, 'a JSON object (secret.format: json adopts it)');
    }
    return { format, text, password: text };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The SyntaxError quotes the text: never pass it on.
    throw new SecretFormatError(format, 'text that is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretFormatError(format, jsonShape(parsed));
  }
  const fields = parsed as Record<string, unknown>;
  const passwords = topLevelMembers(text).members.filter((m) => m.key === 'password').length;
  if (passwords > 1) throw new SecretFormatError(format, 'a JSON object with more than one password field');
  const password = fields.password;
  // A placeholder (absent, null or empty) is a password the rotator is to fill in.
  if (password === undefined || password === null || password === '') {
    return { format, text, password: undefined, fields };
  }
  if (typeof password !== 'string') {
    throw new SecretFormatError(format, `a JSON object whose password is ${jsonShape(password)}`);
  }
  return { format, text, password, fields };
}

/** Like readSecret, for a version whose password is required (one the rotator staged). */
export function readPassword(text: string, format: SecretFormat): string {
  const content = readSecret(text, format);
  if (content.password === undefined) {
    throw new SecretFormatError(format, 'a JSON object without a password');
  }
  return content.password;
}

/** What a `json` secret gets besides the password when it does not have it yet. */
export interface SecretDefaults {
  username: string;
  /** The provider id (AWS's rotation functions call it `engine`). */
  engine: string;
  /** Written only into a new secret (no current version), after username, password and engine. */
  extra?: Record<string, string>;
}

/**
 * The text of the next version: `password` put into `base` (the current version, read in its
 * format), or a new secret when there is no current version. Deterministic: the same input gives
 * the same bytes (a store compares the text byte for byte when a version token is reused).
 */
export function nextSecretText(
  format: SecretFormat,
  base: SecretContent | undefined,
  password: string,
  defaults: SecretDefaults,
): string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new TypeError('nextSecretText: password must be a non-empty string');
  }
  if (format === 'text') return password;
  if (!base) return newJsonSecret(password, defaults);
  if (base.format !== 'json' || !base.fields) {
    throw new TypeError('nextSecretText: the base must be a json secret');
  }
  const { text } = base;
  const { members, open } = topLevelMembers(text);
  const added: [string, string][] = [];
  if (!Object.hasOwn(base.fields, 'username')) added.push(['username', defaults.username]);
  const existing = members.find((m) => m.key === 'password');
  if (!existing) added.push(['password', password]);
  if (!Object.hasOwn(base.fields, 'engine')) added.push(['engine', defaults.engine]);
  const addition = added.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',');
  // Insert after the last member (or right after `{`): the document's own spacing stays where it was.
  const last = members.at(-1);
  const at = last ? last.valueEnd : open + 1;
  const insert = addition === '' ? '' : last ? `,${addition}` : addition;
  const edits: { start: number; end: number; with: string }[] = [];
  if (existing)
    edits.push({ start: existing.valueStart, end: existing.valueEnd, with: JSON.stringify(password) });
  if (insert !== '') edits.push({ start: at, end: at, with: insert });
  let out = text;
  // Right to left, so that earlier offsets stay valid.
  for (const e of edits.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.with + out.slice(e.end);
  }
  return out;
}

/** The JSON of a new secret: the shape AWS's own rotation functions use, with a fixed key order. */
function newJsonSecret(password: string, defaults: SecretDefaults): string {
  const doc: Record<string, string> = { username: defaults.username, password, engine: defaults.engine };
  const extra = defaults.extra ?? {};
  for (const key of Object.keys(extra).sort()) {
    if (!Object.hasOwn(doc, key)) doc[key] = extra[key]!;
  }
  return JSON.stringify(doc);
}

/** Every string in a text that could be sensitive if echoed: the whole text and, in JSON, the password. */
export function sensitiveParts(text: string): string[] {
  const out = [text];
  try {
    const parsed: unknown = JSON.parse(text);
    const pw = (parsed as { password?: unknown } | null)?.password;
    if (typeof pw === 'string' && pw.length > 0) out.push(pw);
  } catch {
    // Not JSON: the text is the password.
  }
  return out;
}

function parsesAsObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function jsonShape(value: unknown): string {
  if (value === null) return 'JSON null';
  if (Array.isArray(value)) return 'a JSON array';
  switch (typeof value) {
    case 'string':
      return 'a JSON string';
    case 'number':
      return 'a JSON number';
    case 'boolean':
      return 'a JSON boolean';
    default:
      return 'a JSON object';
  }
}

interface Member {
  key: string;
  valueStart: number;
  valueEnd: number;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  return i;
}

/** The index just past the string literal that starts at `i`. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** The index just past the JSON value that starts at `i`. */
function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text[j]!;
      if (d === '"') {
        j = endOfString(text, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      j++;
      if (depth === 0) return j;
    }
    return j;
  }
  let j = i;
  while (
    j < text.length &&
    !WHITESPACE.has(text[j]!) &&
    text[j] !== ',' &&
    text[j] !== '}' &&
    text[j] !== ']'
  )
    j++;
  return j;
}

/**
 * The top-level members of a JSON object text, with the offsets of their values. The text must
 * already have parsed as an object (JSON.parse checked the syntax; this only finds positions).
 */
function topLevelMembers(text: string): { members: Member[]; open: number } {
  const open = skipWhitespace(text, 0);
  const members: Member[] = [];
  let i = skipWhitespace(text, open + 1);
  if (text[i] === '}') return { members, open };
  for (;;) {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    const valueStart = skipWhitespace(text, i);
    const valueEnd = endOfValue(text, valueStart);
    members.push({ key, valueStart, valueEnd });
    i = skipWhitespace(text, valueEnd);
    if (text[i] !== ',') return { members, open };
    i = skipWhitespace(text, i + 1);
  }
}
