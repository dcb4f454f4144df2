import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import type { DetectionRule } from '../../src/model/types.js';
import { generateBundle, generateModule, RUNTIME_BANNER, type RuleSource } from '../../src/targets/ts/generator.js';
import { RuntimeSource } from '../../src/targets/ts/runtime-source.js';
import { tsTarget } from '../../src/targets/ts/target.js';
import type { TargetOptions } from '../../src/targets/types.js';
import { load, ruleYaml } from '../helpers/rules.js';
import { loadModule, type BundleModule, type RuleModule } from './load.js';
import { projectTs, SLOW } from './typescript.js';
import { typeCheck } from '../../src/targets/ts/typecheck.js';

function source(detection: string, extra = ''): RuleSource {
  const r = load(ruleYaml(detection, extra));
  if (!r.ir) throw new Error(JSON.stringify(r.diagnostics));
  return { rule: r.rule as DetectionRule, ir: r.ir };
}

/** The rule code of a module: everything before the inlined runtime. */
const ruleCode = (module: string): string => module.slice(0, module.indexOf(RUNTIME_BANNER));
const matchBody = (module: string): string => module.slice(module.indexOf('export function match'), module.indexOf(RUNTIME_BANNER));

const opts = (mapping: unknown = { fields: {} }): TargetOptions => ({ platform: 'node', format: 'module', mapping });

describe('ts generator: modules', { timeout: SLOW }, () => {
  const src = source(
    `selection:
  Image|endswith: ['\\WHOAMI.exe', '\\Net.exe']
  CommandLine|re: '^c:\\\\x+'
filter:
  User: SYSTEM
condition: selection and not filter`,
    'level: high\ntags: [attack.discovery]\n',
  );

  it('exports the metadata and a match function with the evaluator verdict', () => {
    const m = loadModule(generateModule(src));
    expect(m.rule).toEqual({ id: src.rule.id, title: 'Test rule', level: 'high', tags: ['attack.discovery'], logsource: { product: 'windows', category: 'process_creation' } });
    const events = [
      { Image: 'C:\\Windows\\System32\\whoami.EXE', CommandLine: 'c:\\xx' },
      { Image: 'C:\\Windows\\System32\\whoami.EXE', CommandLine: 'c:\\xx', User: 'system' },
      { Image: 'C:\\Windows\\System32\\whoami.EXE', CommandLine: 'C:\\xx' },
      { Image: ['a', 'b\\net.exe'], CommandLine: 'c:\\x' },
      {},
    ];
    const expected = events.map((e) => compileNode(src.ir)(new EventView(e)));
    expect(expected).toEqual([true, false, false, true, false]);
    expect(events.map((e) => m.match(e))).toEqual(expected);
  });

  it('hoists case-folded literals and regexes to module constants', () => {
    const text = generateModule(src);
    expect(text).toContain("const IMAGE_ENDS_WITH = ['\\\\whoami.exe', '\\\\net.exe'];");
    expect(text).toContain('const COMMAND_LINE_REGEXES = [/^c:\\\\x+/];');
    expect(text).toContain("const USER_EQUALS = 'system';");
    const body = matchBody(text);
    expect(body).not.toMatch(/whoami|system'|\/\^/);
    // the only string literals left in the matcher are field names
    expect(body.match(/'[^']*'/g)).toEqual(["'Image'", "'CommandLine'", "'User'"]);
  });

  it('is deterministic and imports nothing', () => {
    const a = generateModule(src);
    expect(generateModule(src)).toBe(a);
    const sf = ts.createSourceFile('m.ts', a, ts.ScriptTarget.ES2022);
    expect(sf.statements.filter((s) => ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s))).toEqual([]);
    expect(a).not.toMatch(/\brequire\(|\bprocess\.|\bBuffer\b/);
  });

  it('inlines only the runtime the rule uses', () => {
    const plain = generateModule(src);
    expect(plain).toContain('function fold(');
    expect(plain).not.toMatch(/function (parseTimestamp|parseIpv4|numbersOf|inNetwork|anyTimePart)\(/);
    const rich = generateModule(source(`selection:\n  UtcTime|hour|gte: 22\n  DestinationIp|cidr: 10.0.0.0/8\n  EventID: 1\ncondition: selection`));
    expect(rich).toMatch(/function parseTimestamp\(/);
    expect(rich).toMatch(/function parseIpv4\(/);
    expect(rich).not.toMatch(/function parseIpv6\(/);
    expect(rich).toMatch(/function numbersOf\(/);
  });

  it('rule text cannot escape its comment or string', () => {
    const hostile = "Bad */ export const pwned = 1; /* 'x' \\ ${'$'}{y}";
    const s = source("selection:\n  Image: x\ncondition: selection", `description: "line one */\\nline two"\n`);
    const text = generateModule({ ...s, rule: { ...s.rule, title: hostile, tags: [hostile] } });
    const m = loadModule(text) as RuleModule & Record<string, unknown>;
    expect(m.rule.title).toBe(hostile);
    expect(m.rule.tags).toEqual([hostile]);
    expect(Object.keys(m).sort()).toEqual(['match', 'rule']);
    expect(typeCheck(new Map([['m', text]]), projectTs)).toEqual(new Map());
  });

  it('names a parameter list after the parameter', () => {
    const text = generateModule(
      source("selection:\n  TargetFilename|endswith|expand: '%exts%'\ncondition: selection", 'parameters:\n  exts: [.EXE, .dll]\n'),
    );
    expect(text).toContain("const EXTS = ['.exe', '.dll'];");
  });

  it('reads the event fields the platform mapping names', () => {
    const r = tsTarget.compile({ path: 't.yml', ...src }, opts({ fields: { Image: 'process.executable' } }));
    if (!r.ok) throw new Error(r.error);
    expect(r.query).toContain("ev.foldedOf('process.executable')");
    const m = loadModule(r.query);
    expect(m.match({ process: { executable: 'C:\\net.exe' }, CommandLine: 'c:\\x' })).toBe(true);
    expect(m.match({ Image: 'C:\\net.exe', CommandLine: 'c:\\x' })).toBe(false);
  });

  it('a malformed mapping is a mapping failure naming what is valid', () => {
    const input = { path: 't.yml', ...src };
    expect(tsTarget.compile(input, opts({ field: {} }))).toEqual({ ok: false, kind: 'mapping', error: "unknown key 'field' in the ts mapping; valid keys: fields" });
    expect(tsTarget.compile(input, opts({ fields: { Image: 3 } }))).toMatchObject({ ok: false, kind: 'mapping', error: expect.stringContaining('fields.Image must be a non-empty field name') });
    expect(tsTarget.compile(input, opts([]))).toMatchObject({ ok: false, kind: 'mapping' });
  });

  it('keywords: case-insensitive or cased, literal or glob, searching every value', () => {
    const m = loadModule(generateModule(source("keywords:\n  - 'Mimi*Katz'\n  - 'LSASS'\ncased:\n  '|cased': ['ProcDump']\ncondition: keywords or cased")));
    expect(m.match({ a: { b: ['x mimi-KATZ y'] } })).toBe(true);
    expect(m.match({ a: 'lsass.exe' })).toBe(true);
    expect(m.match({ a: 'procdump' })).toBe(false);
    expect(m.match({ a: 'ProcDump64' })).toBe(true);
    expect(m.match({ LSASS: 'key, not value' })).toBe(false);
  });
});

describe('ts generator: bundle', { timeout: SLOW }, () => {
  const a = source("selection:\n  Image|endswith: '\\a.exe'\ncondition: selection");
  const b = { ...source("selection:\n  Image|contains: 'A'\ncondition: selection"), rule: { ...a.rule, id: '00000000-0000-4000-8000-000000000002', title: 'Second' } };

  it('exports every rule with its matcher, and detect() lists the rules that match', () => {
    const m = loadModule<BundleModule>(generateBundle([a, b]));
    expect(m.rules.map((r) => r.title)).toEqual(['Test rule', 'Second']);
    expect(m.detect({ Image: 'C:\\A.EXE' }).map((r) => r.title)).toEqual(['Test rule', 'Second']);
    expect(m.detect({ Image: 'b' })).toEqual([]);
    expect(m.rules[1]!.match({ Image: 'xay' })).toBe(true);
    expect(m.rules[0]!.match({ Image: 'xay' })).toBe(false);
  });

  it('keeps the constants of each rule apart', () => {
    const text = generateBundle([a, b]);
    expect(text).toContain("const R1_IMAGE_ENDS_WITH = ['\\\\a.exe'];");
    expect(text).toContain("const R2_IMAGE_CONTAINS = ['a'];");
    expect(generateBundle([a, b])).toBe(text);
  });

  it('an empty bundle is a valid module', () => {
    const m = loadModule<BundleModule>(generateBundle([]));
    expect(m.rules).toEqual([]);
    expect(m.detect({})).toEqual([]);
  });
});

describe('ts target', { timeout: SLOW }, () => {
  it('validates emitted modules by type-checking them', async () => {
    const good = tsTarget.compile({ path: 't.yml', ...source("selection:\n  Image: x\ncondition: selection") }, opts());
    if (!good.ok) throw new Error(good.error);
    const input = { path: 't.yml', ...source("selection:\n  Image: x\ncondition: selection") };
    const diags = await tsTarget.validate!(
      [
        { key: 'good', query: good.query, input },
        { key: 'bad', query: good.query.replace('const ev = viewOf(event as JsonObject);', 'const ev: number = viewOf(event as JsonObject);'), input },
      ],
      opts(),
    );
    expect(diags.has('good')).toBe(false);
    expect(diags.get('bad')?.[0]?.message).toMatch(/^generated module \d+:\d+: TS2322: Type 'EventView' is not assignable to type 'number'/);
  });

  it('formats: module (the default, also named query) and bundle', () => {
    expect(tsTarget.formats).toEqual(['module', 'bundle', 'query']);
    expect(tsTarget.bundle!('module', [], opts())).toBeUndefined();
    expect(tsTarget.bundle!('bundle', [], opts())?.map((f) => f.path)).toEqual(['rules.ts']);
  });
});

describe('ts runtime source', { timeout: SLOW }, () => {
  it('inlines a declaration with what it uses, nothing else', () => {
    const text = RuntimeSource.get().text(['fold']);
    expect(text).toMatch(/^\/\/ src\/runtime\/fold\.ts\n/);
    expect(text).toContain('const cache = new Map<number, string>();');
    expect(text).toContain('function foldCodePoint(cp: number): string');
    expect(text).not.toContain('export ');
    expect(text).not.toContain('EventView');
    expect(() => RuntimeSource.get().text(['nope'])).toThrow("the runtime has no declaration 'nope'");
  });
});
