import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/worker/config.js';
import { hasDuplicateKey, parseJson, parseText, parseYaml } from '../../src/config/parse-text.js';

/** How parseConfigText has always read YAML: one Document with pretty errors. */
function reference(text: string) {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
        message: `invalid YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    };
  }
  return { ok: true, value: doc.toJS() as unknown };
}

const example = readFileSync(new URL('../../config/rotator.example.yaml', import.meta.url), 'utf8');

function target(i: number, indent = '  '): string {
  const lines =
    i % 2 === 0
      ? [
          `- id: kafka-${i} # NCP`,
          `  provider: ncp-cdss`,
          `  site: public`,
          `  region: KR`,
          `  serviceGroupInstanceNo: '${1000 + i}'`,
          `  credentials: { accessKey: { env: NCP_AK_${i} }, secretKey: { env: NCP_SK_${i} } }`,
          `  secret: { id: prod/cdss/kafka-${i}/manager }`,
          `  schedule: { cron: '30 2 * * 1', tz: Europe/Amsterdam }`,
        ]
      : [
          `# OTC ${i}`,
          `- id: search-${i}`,
          `  provider: otc-css`,
          `  region: eu-de`,
          `  projectId: p${i}`,
          `  clusterId: c-${i}`,
          `  credentials:`,
          `    accessKey: { env: OTC_AK }`,
          `    secretKey: { env: OTC_SK }`,
          `  secret: { id: "prod/css/search-${i}/admin" }`,
          `  policy:`,
          `    forbid:`,
          `      - otc`,
          `      - staging`,
          '',
        ];
  return lines.map((l) => (l ? indent + l : l)).join('\n') + '\n';
}

function config(n: number, indent = '  ', tail = 'log: { level: info }\n'): string {
  let text = 'store: { type: file, path: ./data/secrets.json }\ntargets: # the clusters\n';
  for (let i = 0; i < n; i++) text += target(i, indent);
  return text + tail;
}

describe('config text: YAML', () => {
  it('reads the same value as one document', () => {
    for (const text of [example, config(25), config(25, ''), config(7, '    ', '')]) {
      const r = parseText(text);
      expect(r.ok).toBe(true);
      expect(r).toEqual(reference(text));
    }
  });

  it('keeps CRLF line endings working', () => {
    const text = config(12).replace(/\n/g, '\r\n');
    const r = parseText(text);
    expect(r).toEqual(reference(text));
    expect(r).toEqual(parseText(config(12)));
  });

  it('validates a large config like one read whole', () => {
    const text = config(300);
    const whole = parseYaml(text);
    expect(whole.ok).toBe(true);
    const r = parseConfigText(text);
    expect(r.ok).toBe(true);
    if (!r.ok || !whole.ok) return;
    expect(r.config.targets).toHaveLength(300);
    expect(r.config.targets[299]!.id).toBe('search-299');
  });

  const unusualYaml: [string, string][] = [
    [
      'an alias to an anchor in another piece',
      config(3).replace('env: NCP_AK_0 }', 'env: &ak NCP_AK_0 }').replace('env: NCP_AK_2 }', 'env: *ak }'),
    ],
    [
      'an alias to an anchor outside targets',
      'x: &s { env: A }\n' + config(2).replace('accessKey: { env: OTC_AK }', 'accessKey: *s'),
    ],
    ['a directive', '%YAML 1.2\n---\n' + config(3)],
    ['a tab in the indentation', config(3).replace('  - id: search-1', '\t- id: search-1')],
    ['targets twice', config(2) + 'targets:\n  - id: x\n'],
    ['targets as a flow sequence', 'store: { type: file, path: x }\ntargets: [{ id: a }]\n'],
    ['targets with a tag', config(2).replace('targets: # the clusters', 'targets: !!seq')],
    ['a scalar where the list goes on', config(2).replace('  - id: kafka-0', '  -id: kafka-0')],
    ['an indented line after the list', config(2) + ' stray: 1\n'],
    ['a second document', config(2) + '---\nother: 1\n'],
    [
      'duplicate key in a target',
      config(4).replace('  region: eu-de\n', '  region: eu-de\n    region: eu-nl\n'),
    ],
    ['duplicate top-level key', config(2) + 'store: { type: file, path: y }\n'],
    ['a broken flow mapping', config(3).replace('{ id: "prod/css/search-1/admin" }', '{ id: x')],
    ['a multi-line quoted string cut at an item line', 'targets:\n  - id: "a\n  - b"\n'],
  ];

  it.each(unusualYaml)('reads %s as one document', (_why, text) => {
    expect(parseText(text)).toEqual(reference(text));
  });

  it('refuses a flow-mapping root that holds a block targets list (YAML rejects it whole)', () => {
    const text = '{\ntargets:\n - a\n}\n';
    expect(reference(text).ok).toBe(false);
    expect(parseText(text).ok).toBe(false);
  });

  it('still names line and column of a YAML error deep in the targets', () => {
    const text = config(40).replace('  - id: search-31\n', '  - id: search-31\n     region: [x\n');
    const r = parseConfigText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r).toEqual(reference(text));
    expect(r.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
    expect(r.problems[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('reports a duplicate key inside a target with its line', () => {
    const text = config(30).replace('  clusterId: c-21\n', '  clusterId: c-21\n    clusterId: c-22\n');
    const line = text.split('\n').findIndex((l) => l === '    clusterId: c-22') + 1;
    const r = parseConfigText(text);
    expect(r).toEqual(reference(text));
    expect(r).toEqual({
      ok: false,
      problems: [{ path: `line ${line}, column 5`, message: 'invalid YAML: Map keys must be unique' }],
    });
  });
});

describe('config text: JSON', () => {
  const json = JSON.stringify(reference(example).value, null, 2);

  it('reads JSON with JSON.parse, to the same value as YAML', () => {
    expect(parseJson(json)!.value).toEqual(reference(json).value);
    const r = parseConfigText(json);
    expect(r.ok).toBe(true);
    expect(r).toEqual(parseConfigText(example));
  });

  it('rejects a duplicate key exactly as YAML does', () => {
    const dup = json.replace('"concurrency": 10,', '"concurrency": 10,\n    "concurrency": 11,');
    expect(dup).not.toBe(json);
    expect(JSON.parse(dup)).toBeTruthy(); // JSON.parse alone would keep the last
    expect(parseJson(dup)).toBeUndefined();
    const r = parseConfigText(dup);
    expect(r).toEqual(reference(dup));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      {
        path: expect.stringMatching(/^line \d+, column 5$/),
        message: 'invalid YAML: Map keys must be unique',
      },
    ]);
  });

  it('leaves anything unusual to YAML', () => {
    expect(parseJson('{"a":\t1}')).toBeUndefined();
    expect(parseJson('{"__proto__": {}}')).toBeUndefined();
    expect(parseJson('[1, 2]')).toBeUndefined();
    expect(parseJson('a: 1')).toBeUndefined();
    expect(parseJson('{"a": 1,}')).toBeUndefined(); // not JSON (YAML flow mapping: same value)
    expect(parseText('{"a": 1,}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseText('{"a": "x\ty"}')).toEqual({ ok: true, value: { a: 'x\ty' } }); // YAML, not JSON
  });

  it('reads a JSON object with leading blank lines or a byte order mark', () => {
    expect(parseJson('\n  {"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parseText('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('finds duplicate keys per object, decoding escapes', () => {
    expect(hasDuplicateKey('{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}')).toBe(false);
    expect(hasDuplicateKey('{"a": 1, "b": {"a": 2, "a": 3}}')).toBe(true);
    expect(hasDuplicateKey('{"a": 1, "\\u0061": 2}')).toBe(true);
    expect(hasDuplicateKey('{"a": "\\"a\\": 1", "b": ["a", "a"]}')).toBe(false);
    expect(hasDuplicateKey('{"x": [{"k": 1, "k" : 2}]}')).toBe(true);
    expect(hasDuplicateKey('{"a\\\\": 1, "a": 2}')).toBe(false);
  });
});

describe('config validation: repeated checks', () => {
  it('reports the same invalid cron or time zone on every target that has it', () => {
    const bad = config(3)
      .replace(/cron: '30 2 \* \* 1', tz: Europe\/Amsterdam/g, "cron: '61 * * * *', tz: Mars/Base")
      .replace('  - id: search-1\n', '  - id: search-1\n    schedule: { cron: "61 * * * *" }\n');
    const r = parseConfigText(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const cron = r.problems.filter((p) => p.path.endsWith('schedule.cron'));
    expect(cron.map((p) => p.path)).toEqual([
      'targets[0].schedule.cron',
      'targets[1].schedule.cron',
      'targets[2].schedule.cron',
    ]);
    expect(new Set(cron.map((p) => p.message)).size).toBe(1);
    expect(cron[0]!.message).toMatch(/^invalid cron expression '61 \* \* \* \*': /);
    expect(r.problems.filter((p) => p.path.endsWith('schedule.tz')).map((p) => p.path)).toEqual([
      'targets[0].schedule.tz',
      'targets[2].schedule.tz',
    ]);
  });
});
