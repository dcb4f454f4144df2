import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document } from 'yaml';
import { describe, expect, it } from 'vitest';
import { documentValue, readFast, readWithLibrary, readWithLibraryOnly, readYamlDocuments } from '../../src/parse/yaml-reader.js';
import { parseRuleText } from '../../src/parse/rule.js';
import { readYamlFile } from '../../src/config/mapping.js';
import { SIGMAHQ } from '../helpers/corpus.js';

/**
 * The fast YAML reader is only an optimisation: whatever it reads must be what the `yaml` library
 * reads, node for node, and whatever it is unsure of must go to the library. Compared: the number
 * of documents, each node's class, its own fields (value, type, source, format, minFractionDigits,
 * flow, tag), range[0] (where diagnostics point) and a scalar's range[1], toJS(), and the line
 * starts. Comments and range[2] are not reproduced (nothing reads them; yaml-reader.ts).
 */
const NOT_COMPARED = new Set(['comment', 'commentBefore', 'spaceBefore', 'range', 'items', 'key', 'value']);

function nodeDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (a === null || b === null || a === undefined || b === undefined) {
    return a === b ? undefined : `${path}: ${String(a)} against ${String(b)}`;
  }
  const x = a as Record<string, unknown> & { range?: number[] };
  const y = b as Record<string, unknown> & { range?: number[] };
  if (x.constructor !== y.constructor) return `${path}: ${x.constructor.name} against ${y.constructor.name}`;
  if (x.range?.[0] !== y.range?.[0]) return `${path}: starts at ${x.range?.[0]} against ${y.range?.[0]}`;
  if (isScalar(a) && x.range?.[1] !== y.range?.[1]) return `${path}: ends at ${x.range?.[1]} against ${y.range?.[1]}`;
  const kx = Object.keys(x).filter((k) => !NOT_COMPARED.has(k)).sort();
  const ky = Object.keys(y).filter((k) => !NOT_COMPARED.has(k)).sort();
  if (kx.join() !== ky.join()) return `${path}: fields ${kx.join()} against ${ky.join()}`;
  for (const k of kx) if (!Object.is(x[k], y[k])) return `${path}.${k}: ${JSON.stringify(x[k])} against ${JSON.stringify(y[k])}`;
  if (isScalar(a) && isScalar(b) && !Object.is(a.value, b.value)) return `${path}: value ${String(a.value)} against ${String(b.value)}`;
  if ((isMap(a) && isMap(b)) || (isSeq(a) && isSeq(b))) {
    const ia = a.items as unknown[];
    const ib = b.items as unknown[];
    if (ia.length !== ib.length) return `${path}: ${ia.length} items against ${ib.length}`;
    for (let i = 0; i < ia.length; i++) {
      const p = ia[i];
      const q = ib[i];
      const d = isPair(p) && isPair(q)
        ? nodeDifference(p.key, q.key, `${path}[${i}].key`) ?? nodeDifference(p.value, q.value, `${path}[${i}].value`)
        : nodeDifference(p, q, `${path}[${i}]`);
      if (d) return d;
    }
  }
  return undefined;
}

/** How the fast reader's reading of `text` differs from the library's; undefined when it does not read it. */
function difference(text: string): { fast: boolean; diff?: string } {
  const fast = readFast(text);
  const lib = readWithLibrary(text);
  const errors = lib.docs.some((d) => d.errors.length > 0);
  if (!fast) return { fast: false };
  if (errors) return { fast: true, diff: `the library reports errors: ${lib.docs.flatMap((d) => d.errors.map((e) => e.message)).join('; ')}` };
  return { fast: true, diff: docsDifference(fast.docs, fast.lineStarts, lib.docs, lib.lineStarts) };
}

function docsDifference(fd: Document.Parsed[], fl: number[], ld: Document.Parsed[], ll: number[]): string | undefined {
  if (fd.length !== ld.length) return `${fd.length} documents against ${ld.length}`;
  if (fl.join() !== ll.join()) return `line starts ${fl.join()} against ${ll.join()}`;
  for (let i = 0; i < fd.length; i++) {
    const d = nodeDifference(fd[i]!.contents, ld[i]!.contents, `document ${i}`);
    if (d) return d;
    // The value rule.ts reads (documentValue's direct walk), and the library's toJS of the same nodes.
    const b = ld[i]!.toJS({ maxAliasCount: 100 }) as unknown;
    for (const a of [documentValue(fd[i]!), fd[i]!.toJS({ maxAliasCount: 100 }) as unknown]) {
      try {
        expect(a).toStrictEqual(b);
      } catch {
        return `document ${i}: value ${JSON.stringify(a)} against ${JSON.stringify(b)}`;
      }
    }
  }
  return undefined;
}

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/i.test(e.name)) out.push(p);
  }
  return out;
}

const ROOT = new URL('../..', import.meta.url).pathname;

describe('fast YAML reader against the yaml library, over the rule files', () => {
  const sets: [string, string, number][] = [
    // name, folder, the least share of files the fast reader must take (it is the point of it)
    ['SigmaHQ corpus', SIGMAHQ, 0.99],
    ['rules/', join(ROOT, 'rules'), 0.7],
    ['test fixtures', join(ROOT, 'test/fixtures'), 0.5],
  ];
  for (const [name, dir, floor] of sets) {
    it.skipIf(!existsSync(dir))(`reads every file of ${name} as the library does`, () => {
      const files = yamlFiles(dir);
      let fast = 0;
      const diffs: string[] = [];
      for (const f of files) {
        const r = difference(readFileSync(f, 'utf8'));
        if (r.fast) fast++;
        if (r.diff) diffs.push(`${f}: ${r.diff}`);
      }
      console.log(`${name}: ${fast} of ${files.length} files read by the fast reader, the others by the library`);
      expect(diffs).toEqual([]);
      expect(fast).toBeGreaterThanOrEqual(Math.floor(files.length * floor));
    }, 120_000);
  }
});

/**
 * What rulec makes of a file (rule models, positions, diagnostics) is the same with either reader,
 * also for rules with mistakes: each file as it is and with mistakes written into it.
 */
const MISTAKES: [RegExp, string][] = [
  [/^level: .*$/m, 'level: 5'],
  [/^(\s+condition: .*)$/m, '$1 and'],
  [/^title: .*\n/m, ''],
  [/\|(contains|endswith|startswith)\b/, '|$1x'],
  [/^logsource:/m, 'titel: x\nlogsource:'],
  [/^(\s+)condition:/m, '$1selection_empty:\n$1condition:'],
  [/^tags:\n(\s+)- /m, 'tags:\n$1- attack.t0000\n$1- '],
  [/^(\s+)(\w+)(\|\w+)?: (\S.*)$/m, '$1$2$3: [$4, {a: 1}]'],
];

describe('rule models and diagnostics with either reader', () => {
  it.skipIf(!existsSync(SIGMAHQ))('are the same over the corpus, with and without mistakes', () => {
    const files = [...yamlFiles(SIGMAHQ), ...yamlFiles(join(ROOT, 'rules')), ...yamlFiles(join(ROOT, 'test/fixtures'))];
    let diagnostics = 0;
    files.forEach((f, i) => {
      const text = readFileSync(f, 'utf8');
      const texts = [text];
      // Every file as it is; a mistake in every fifth (the suite's time is shared).
      if (i % 5 === 0) {
        const [re, to] = MISTAKES[(i / 5) % MISTAKES.length]!;
        if (re.test(text)) texts.push(text.replace(re, to));
      }
      for (const t of texts) {
        const fast = parseRuleText(t, f);
        const lib = parseRuleText(t, f, readWithLibraryOnly);
        expect(fast, f).toStrictEqual(lib);
        diagnostics += fast.documents.reduce((n, d) => n + d.diagnostics.length, 0);
      }
    });
    // The mistakes are seen (the comparison covers diagnostics, not only valid rules).
    expect(diagnostics).toBeGreaterThan(300);
  }, 240_000);
});

describe('the comparison itself', () => {
  it('sees a changed value, type, position and class', () => {
    const text = "a: 1\nb: 'x'\nc:\n  - y\n";
    const lib = readWithLibrary(text);
    const mutations: ((d: Document.Parsed) => void)[] = [
      (d) => ((d.getIn(['a'], true) as { value: unknown }).value = 2),
      (d) => ((d.getIn(['b'], true) as { type: string }).type = 'QUOTE_DOUBLE'),
      (d) => ((d.getIn(['b'], true) as { range: number[] }).range[0] = 9),
      (d) => ((d.getIn(['c', 0], true) as { range: number[] }).range[1] = 99),
      (d) => ((d.getIn(['a'], true) as { format?: string }).format = 'HEX'),
      (d) => (d.getIn(['c'], true) as { items: unknown[] }).items.push(d.getIn(['a'], true)),
      (d) => ((d.getIn(['c'], true) as { items: { value: unknown }[] }).items[0]!.value = 'z'),
    ];
    for (const m of mutations) {
      const fast = readFast(text)!;
      expect(docsDifference(fast.docs, fast.lineStarts, lib.docs, lib.lineStarts)).toBeUndefined();
      m(fast.docs[0]!);
      expect(docsDifference(fast.docs, fast.lineStarts, lib.docs, lib.lineStarts)).toBeDefined();
    }
  });
});

describe('what the fast reader leaves to the library', () => {
  const cases: [string, string][] = [
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a tab', 'a:\t1\n'],
    ['a carriage return', 'a: 1\r\nb: 2\r\n'],
    ['a trailing space', 'a: 1 \n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a duplicate key by value', 'true: 1\nTrue: 2\n'],
    ['a complex key', '? a\n: 1\n'],
    ['a flow map key', '{a: 1}: 2\n'],
    ['a keep-chomping block scalar', 'a: |+\n  x\n\nb: 1\n'],
    ['an indentation indicator', 'a: |2\n   x\n'],
    ['a bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a nested mapping on one line', 'a: b: c\n'],
    ['an unknown escape', 'a: "\\q"\n'],
    ['a short hex escape', 'a: "\\x4"\n'],
    ['a missing quote', "a: 'x\n"],
    ['a document end marker', 'a: 1\n...\n'],
    ['an empty document', 'a: 1\n---\n'],
    ['a comment-only file', '# nothing\n'],
    ['a root list', '- a\n- b\n'],
    ['a root scalar', 'a\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a key over 1024 characters', `${'k'.repeat(1030)}: 1\n`],
    ['text after a quoted value', "a: 'x' y\n"],
    ['a multi-line flow collection', 'a: [b,\n  c]\n'],
    ['a plain scalar starting with a flow indicator', 'a: ]b\n'],
    // Found by the property test below: the library reads `#: |` as a comment, then refuses `0o17`.
    ['a scalar after a comment line', 'A:\n#: |\n  0o17\nAA: a\n'],
    ['__proto__', '__proto__: 1\n'],
    ['a merge key', '<<: {a: 1}\n'],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(readFast(text)).toBeUndefined();
      // The file is read all the same, by the library.
      const lc = new LineCounter();
      const r = readYamlDocuments(text, lc);
      expect(r.fast).toBe(false);
      expect(r.docs.length).toBe(readWithLibrary(text).docs.length);
    });
  }

  it("a rule file's YAML errors are the library's, at the library's positions", () => {
    const text = 'title: t\ndetection:\n  sel:\n    Image: a\n    Image: b\n  condition: sel\n';
    const out = parseRuleText(text, 'r.yml');
    expect(out.documents[0]!.diagnostics.map((d) => [d.code, d.message, d.line, d.column])).toEqual([
      ['yaml-syntax', 'YAML syntax error: Map keys must be unique', 5, 5],
    ]);
  });

  it('reads the subset rule files are written in', () => {
    const text = [
      'title: Example # a comment',
      "id: 'x'",
      'description: a long',
      '    description over lines',
      '',
      '    and a paragraph',
      'tags:',
      '- attack.t1059',
      '- "attack.\\u0074"',
      'detection:',
      '    selection:',
      '        Image|endswith:',
      '            - \\cmd.exe',
      '            - 0x1F',
      "            - :\\ProgramData'",
      '            - -x',
      '        Count: [1, .inf, ~, "two"]',
      '        Flags: {a: 1, b: TRUE}',
      '    # a comment line',
      '    condition: >-',
      '        selection',
      '        and 1',
      '---',
      'title: second',
      'list:',
      '  - a: 1',
      '    b: |',
      '      line 1',
      '',
      '        line 2',
      '  - -3.50',
      '  -',
      '  - # nothing',
      '  - {group: {user: alice}, end: [1, [2]], \'@t\': x}',
      'empty:',
      'last: # nothing either',
      '',
    ].join('\n');
    expect(difference(text)).toEqual({ fast: true, diff: undefined });
  });
});

/**
 * Generated YAML of the subset and around it. Whatever the text is, the library reporting no
 * error means the fast reader either reads it exactly as the library does or leaves it to it, and
 * the library reporting an error means the fast reader leaves it to it.
 */
const CORE_FORMS = [
  '0o17', '0o8', '0x1F', '0xg', '0X1F', '.inf', '-.Inf', '+.INF', '.NaN', '.nan', 'NaN', '1e3', '1E-3', '+1', '-1', '+0',
  '-0', '007', '1.50', '1.', '.5', '+12.5e-3', '1_000', '12:30', '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True',
  'TRUE', 'tRUE', 'false', 'False', 'FALSE', 'yes', 'no', 'on', 'off', 'y', '2024-01-01', '0b101', '1e', '.', '-', '+',
  '0x', '', '12345678901234567890', '9007199254740993', '-.5e+2', '1.2.3',
];
const CHARS = [...'abcXYZ019 -_.:#\'"\\*&!|>[]{},%@`?~+=/é€😀', '\n'];
const text = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...CORE_FORMS) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...CHARS, '\t', '\r'), { maxLength: 6 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9 ._\\-]{0,15}$/) },
);
const ESCAPES = ['\\n', '\\t', '\\\\', '\\"', '\\/', '\\ ', '\\_', '\\N', '\\L', '\\P', '\\0', '\\a', '\\e', '\\x41', '\\u00e9', '\\U0001F600', '\\q', '\\x4', '\\u12', '\\U00110000', '\\\n  '];

type Style = 'plain' | 'single' | 'double' | 'literal' | 'folded';
const style = fc.constantFrom<Style>('plain', 'plain', 'single', 'double', 'literal', 'folded');

interface ScalarSpec { kind: 'scalar'; text: string; style: Style; chomp: string; escapes: string[] }
interface MapSpec { kind: 'map'; pairs: [ScalarSpec, Spec][] }
interface SeqSpec { kind: 'seq'; items: Spec[]; compact: boolean }
interface FlowSpec { kind: 'flow'; items: ScalarSpec[]; map: boolean }
interface EmptySpec { kind: 'empty' }
type Spec = ScalarSpec | MapSpec | SeqSpec | FlowSpec | EmptySpec;

const scalarSpec: fc.Arbitrary<ScalarSpec> = fc.record({
  kind: fc.constant('scalar' as const),
  text,
  style,
  chomp: fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 8, arbitrary: fc.constant('-') },
    { weight: 3, arbitrary: fc.constantFrom('+', '2', '-1', '+2', ' # c') },
  ),
  escapes: fc.array(fc.constantFrom(...ESCAPES), { maxLength: 2 }),
});
/** Scalars in documents: the block scalar headers and escapes the fast reader reads (the others are above). */
const docScalarSpec: fc.Arbitrary<ScalarSpec> = fc.record({
  kind: fc.constant('scalar' as const),
  text,
  style,
  chomp: fc.constantFrom('', '-'),
  escapes: fc.array(fc.constantFrom(...ESCAPES.slice(0, 15)), { maxLength: 2 }),
});
const keySpec: fc.Arbitrary<ScalarSpec> = fc.record({
  kind: fc.constant('scalar' as const),
  text: fc.oneof(
    { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.]{0,8}(\|[a-z]{1,6}){0,2}$/) },
    { weight: 1, arbitrary: text },
  ),
  style: fc.constantFrom<Style>('plain', 'plain', 'plain', 'single', 'double'),
  chomp: fc.constant(''),
  escapes: fc.constant([]),
});

const { spec } = fc.letrec<{ spec: Spec; map: MapSpec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: docScalarSpec },
    { weight: 2, arbitrary: tie('map') },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('seq' as const), items: fc.array(tie('spec'), { minLength: 1, maxLength: 3 }), compact: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('flow' as const), items: fc.array(docScalarSpec, { maxLength: 3 }), map: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  ),
  map: fc.record({ kind: fc.constant('map' as const), pairs: fc.array(fc.tuple(keySpec, tie('spec')), { minLength: 1, maxLength: 4 }) }),
}));
const rootMap = fc.record({ kind: fc.constant('map' as const), pairs: fc.array(fc.tuple(keySpec, spec), { minLength: 1, maxLength: 5 }) });

function quote(s: ScalarSpec, multiline: boolean): string {
  if (s.style === 'single') return `'${s.text.replace(/'/g, "''").replace(/\n/g, multiline ? '\n\n' : ' ')}'`;
  if (s.style === 'double') {
    const body = s.text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, multiline ? '\n\n' : '\\n');
    return `"${body}${s.escapes.join('')}"`;
  }
  return s.text;
}

/** Renders a value after `key:` or `-` at indent `indent`; `w` is the indentation step. */
function renderValue(v: Spec, indent: number, w: number, out: string[], head: string): void {
  const pad = ' '.repeat(indent + w);
  switch (v.kind) {
    case 'empty':
      out.push(head);
      return;
    case 'scalar':
      if (v.style === 'literal' || v.style === 'folded') {
        out.push(`${head} ${v.style === 'literal' ? '|' : '>'}${v.chomp}`);
        for (const line of v.text.split('\n')) out.push(line === '' ? '' : pad + line);
      } else if (v.style === 'plain' && v.text.includes(' ') && v.chomp === '-') {
        // A plain scalar over lines: its words on continuation lines.
        const [first, ...rest] = v.text.split(' ');
        out.push(`${head} ${first}`);
        for (const word of rest) out.push(pad + word);
      } else {
        const q = quote(v, v.chomp === '+').split('\n');
        out.push(`${head} ${q[0]}`);
        for (const line of q.slice(1)) out.push(line === '' ? '' : pad + line);
      }
      return;
    case 'flow': {
      const items = v.items.map((s) => quote(s, false));
      const body = v.map ? items.map((s, i) => `k${i}: ${s}`).join(', ') : items.join(', ');
      out.push(`${head} ${v.map ? `{${body}}` : `[${body}]`}`);
      return;
    }
    case 'map':
      out.push(head);
      renderMap(v, indent + w, w, out);
      return;
    case 'seq':
      out.push(head);
      renderSeq(v, v.compact && head.trimEnd().endsWith(':') ? indent : indent + w, w, out);
  }
}

function renderMap(m: MapSpec, indent: number, w: number, out: string[], firstHead?: string): void {
  m.pairs.forEach(([k, v], i) => {
    const head = (i === 0 && firstHead !== undefined ? firstHead : ' '.repeat(indent)) + `${quote(k, false)}:`;
    renderValue(v, indent, w, out, head);
  });
}

function renderSeq(s: SeqSpec, indent: number, w: number, out: string[]): void {
  for (const item of s.items) {
    const head = `${' '.repeat(indent)}-`;
    if (item.kind === 'map') renderMap(item, indent + 2, w, out, `${head} `);
    else renderValue(item, indent, 2, out, head);
  }
}

const decoration = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('comment', 'comment-line', 'blank', 'doc-start'),
  indent: fc.nat({ max: 8 }),
});
const document = fc.record({
  docs: fc.array(rootMap, { minLength: 1, maxLength: 2 }),
  w: fc.constantFrom(2, 4),
  decorations: fc.array(decoration, { maxLength: 3 }),
  finalNewline: fc.boolean(),
});

function render(d: { docs: MapSpec[]; w: number; decorations: { at: number; kind: string; indent: number }[]; finalNewline: boolean }): string {
  const lines: string[] = [];
  d.docs.forEach((m, i) => {
    if (i > 0) lines.push('---');
    renderMap(m, 0, d.w, lines);
  });
  for (const dec of d.decorations) {
    const at = dec.at % (lines.length + 1);
    if (dec.kind === 'comment' && at < lines.length) lines[at] += ' # note';
    else if (dec.kind === 'comment-line') lines.splice(at, 0, `${' '.repeat(dec.indent)}# note`);
    else if (dec.kind === 'blank') lines.splice(at, 0, '');
    else if (dec.kind === 'doc-start') lines.splice(at, 0, '---');
  }
  return lines.join('\n') + (d.finalNewline ? '\n' : '');
}

describe('fast YAML reader against the yaml library (property)', () => {
  it('reads generated documents as the library does, or leaves them to it', () => {
    let fast = 0;
    let valid = 0;
    fc.assert(
      fc.property(document, (d) => {
        const t = render(d);
        const r = difference(t);
        if (readWithLibrary(t).docs.every((x) => x.errors.length === 0)) valid++;
        if (r.fast) fast++;
        if (r.diff) throw new Error(`${r.diff}\n--- text:\n${t}`);
      }),
      { numRuns: 3000 },
    );
    // Not a test of the fall-back alone: most generated documents the library reads are in the subset.
    expect(fast / valid).toBeGreaterThan(0.4);
  }, 120_000);

  it('reads every scalar form as the library does, or leaves it to it', () => {
    let fast = 0;
    let runs = 0;
    fc.assert(
      fc.property(keySpec, scalarSpec, fc.constantFrom('', ' # c'), (k, v, comment) => {
        const lines: string[] = [];
        renderValue(v, 0, 2, lines, `${quote(k, false)}:`);
        lines[0] += comment;
        const t = `${lines.join('\n')}\nnext: 1\n`;
        const r = difference(t);
        runs++;
        if (r.fast) fast++;
        if (r.diff) throw new Error(`${r.diff}\n--- text:\n${t}`);
      }),
      { numRuns: 5000 },
    );
    expect(fast / runs).toBeGreaterThan(0.3);
  }, 120_000);
});

describe('data files (backends/) through readYamlFile', () => {
  it('gives the value the library gives, whichever reader reads it; an empty file is null, errors are the library\'s', () => {
    const root = new URL('../../backends/', import.meta.url).pathname;
    const files = readdirSync(root).flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).filter((f) => f.endsWith('.yml')).map((f) => join(root, d, f)) : []));
    expect(files.length).toBeGreaterThan(15);
    let fast = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(readYamlFile(f), f).toEqual(readWithLibrary(text).docs[0]!.toJS());
      if (readFast(text)) fast++;
    }
    expect(fast, 'files the fast reader reads').toBeGreaterThan(10);
    const dir = mkdtempSync(join(tmpdir(), 'rulec-yaml-data-'));
    const write = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(readYamlFile(write('empty.yml', ''))).toBeNull();
    expect(readYamlFile(write('comment.yml', '# nothing else\n'))).toBeNull();
    expect(() => readYamlFile(write('dup.yml', 'a: 1\na: 2\n'))).toThrow(/dup\.yml:2:1: YAML syntax error: Map keys must be unique/);
    expect(() => readYamlFile(write('two.yml', 'a: 1\n---\nb: 2\n'))).toThrow(/two\.yml:2:1: YAML syntax error/);
  });
});
