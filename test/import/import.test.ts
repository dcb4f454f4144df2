/**
 * rulec import --from kusto: what the importer lifts (each operator to its Sigma item, lets to
 * parameters, JSON paths to dotted fields), what it refuses (the construct and its line:col), and
 * that an imported rule selects the same rows as the query it came from: the original KQL and the
 * KQL rulec builds back are run by the test interpreter over rows drawn from the query's literals
 * and their near misses, and the evaluator on the imported rule must agree.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadText } from '../../src/collection/load.js';
import { matchEvent } from '../../src/eval/index.js';
import type { DetectionRule } from '../../src/model/types.js';
import { importKusto, type ImportResult } from '../../src/import/kusto/index.js';
import { compileEql } from '../../src/targets/eql/target.js';
import { kustoTarget } from '../../src/targets/kusto/target.js';
import { splTarget } from '../../src/targets/spl/target.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { compileKql, type KValue, type Row } from '../kusto/interpreter.js';

const SEED = '../shared/seed/custom-script-extension-executable-drop.kql';

const ok = (r: ImportResult): Extract<ImportResult, { ok: true }> => {
  if (!r.ok) throw new Error(`not imported: ${r.error}`);
  return r;
};
const refused = (r: ImportResult): Extract<ImportResult, { ok: false }> => {
  if (r.ok) throw new Error(`imported:\n${r.rule}`);
  return r;
};
const imp = (query: string, fields: 'native' | 'sigma' = 'native', platform = 'sentinel'): ImportResult => importKusto('q.kql', query, { fields, platform });

function loaded(yaml: string) {
  const [r] = loadText('imported.yml', yaml);
  const errors = r!.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r!.ir) throw new Error(`imported rule does not load: ${JSON.stringify(errors)}\n${yaml}`);
  return { rule: r!.rule as DetectionRule, ir: r!.ir };
}

function buildKql(yaml: string, platform = 'sentinel'): string {
  const { rule, ir } = loaded(yaml);
  const r = kustoTarget.compile({ path: 'imported.yml', rule, ir }, { platform, format: 'query', mapping: loadPlatformMapping('kusto', platform) });
  if (!r.ok) throw new Error(`imported rule does not build: ${r.error}`);
  return r.query;
}

describe('the seed', { timeout: 60_000 }, () => {
  const text = readFileSync(SEED, 'utf8');

  it('imports in native mode: the let list is a parameter with its comment, has_any a term match, the JSON path a dotted field', () => {
    const r = ok(importKusto(SEED, text, { fields: 'native' }));
    const doc = parseYaml(r.rule) as Record<string, any>;
    expect(doc.native).toEqual({ target: 'kusto', platform: 'sentinel', table: 'DeviceFileEvents' });
    expect(doc.logsource).toEqual({ product: 'windows', category: 'file_event' });
    expect(doc.parameters.win_executable_extensions.description).toBe('Executable extensions we want to flag (you can also add .ps1 and .sh)');
    expect(doc.parameters.win_executable_extensions.values).toContain('.scr');
    expect(doc.schedule).toEqual({ lookback: '1h' });
    expect(doc.detection.selection_FileName).toEqual({ 'FileName|has|expand': '%win_executable_extensions%' });
    expect(doc.detection.selection_AdditionalFields_FileType).toEqual({ 'AdditionalFields.FileType|contains': 'Executable' });
    expect(doc.detection.selection_ActionType).toEqual({ 'ActionType|cased': 'FileCreated' });
    expect(doc.detection.condition).toBe('selection_ActionType and selection_InitiatingProcessFileName and (selection_FileName or selection_AdditionalFields_FileType)');
    // The query's comments stay, above the selection of the where they stand over.
    expect(r.rule).toContain('# Flag on extension or executable file type\n  selection_FileName:');
  });

  it('builds back to the same KQL predicates, which Kusto.Language accepts', async () => {
    const q = buildKql(ok(importKusto(SEED, text, { fields: 'native' })).rule);
    expect(q).toContain('| where ActionType == "FileCreated"');
    expect(q).toContain('| where InitiatingProcessFileName =~ "customscripthandler.exe"');
    expect(q).toContain('FileName has_any (win_executable_extensions) or AdditionalFields_FileType contains "Executable"');
    const { KustoAnalyzer } = await import('../../src/targets/kusto/validate.js');
    const m = (await import('../../src/targets/kusto/mapping.js')).kustoMapping(loadPlatformMapping('kusto', 'sentinel'), 'sentinel');
    expect(new KustoAnalyzer(new Map([['DeviceFileEvents', m.tables.get('DeviceFileEvents')!]])).analyze(q)).toEqual([]);
  });

  it('matches the seed rule\'s own test cases, written in the table\'s columns', () => {
    const { ir } = loaded(ok(importKusto(SEED, text, { fields: 'native' })).rule);
    const row = (over: Record<string, unknown>) => ({ ActionType: 'FileCreated', InitiatingProcessFileName: 'CustomScriptHandler.exe', FileName: 'setup.ps1', AdditionalFields: {}, ...over });
    expect(matchEvent(ir, row({ FileName: 'beacon.EXE' }))).toBe(true);
    expect(matchEvent(ir, row({ FileName: 'update.txt', AdditionalFields: { FileType: 'PortableExecutable' } }))).toBe(true);
    expect(matchEvent(ir, row({}))).toBe(false);
    expect(matchEvent(ir, row({ FileName: 'tool.exe', InitiatingProcessFileName: 'explorer.exe' }))).toBe(false);
    // A term match, not a suffix: `.exe` as a term inside the name matches, as has_any does.
    expect(matchEvent(ir, row({ FileName: 'a.exe.txt' }))).toBe(true);
    expect(matchEvent(ir, row({ FileName: 'a.exec' }))).toBe(false);
  });

  it('is refused in sigma mode, naming FileName has_any and where it is', () => {
    const r = refused(importKusto(SEED, text, { fields: 'sigma' }));
    expect(r.kind).toBe('mapping');
    expect(r.error).toContain(`${SEED}:11:9: --fields sigma: no exact Sigma field for column FileName: FileName has_any`);
  });

  it('EQL and SPL refuse the native rule, pointing at --fields sigma', () => {
    const { rule, ir } = loaded(ok(importKusto(SEED, text, { fields: 'native' })).rule);
    const eql = compileEql({ path: 'x', rule, ir }, { platform: 'ecs', format: 'query', mapping: loadPlatformMapping('eql', 'ecs') });
    const spl = splTarget.compile({ path: 'x', rule, ir }, { platform: 'sysmon', format: 'query', mapping: loadPlatformMapping('spl', 'sysmon') });
    for (const r of [eql, spl]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain('import the query with --fields sigma');
    }
  });

  it('on defender-xdr the native rule is a mapping error naming the table columns (AdditionalFields is text there)', () => {
    const yaml = ok(importKusto(SEED, text, { fields: 'native' })).rule;
    const { rule, ir } = loaded(yaml);
    const r = kustoTarget.compile({ path: 'x', rule, ir }, { platform: 'defender-xdr', format: 'query', mapping: loadPlatformMapping('kusto', 'defender-xdr') });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe('mapping');
      expect(r.error).toMatch(/field 'AdditionalFields.FileType' is not a column of DeviceFileEvents on platform defender-xdr .*; its columns: ActionType, AdditionalFields,/);
    }
  });
});

describe('lifting operators', () => {
  const det = (q: string): Record<string, unknown> => (parseYaml(ok(imp(q)).rule) as { detection: Record<string, unknown> }).detection;
  const cases: [string, Record<string, unknown>][] = [
    ['ProcessCommandLine == "a"', { 'ProcessCommandLine|cased': 'a' }],
    ['ProcessCommandLine =~ "a*b"', { ProcessCommandLine: 'a\\*b' }],
    ['ProcessCommandLine in~ ("a", "b")', { ProcessCommandLine: ['a', 'b'] }],
    ['ProcessCommandLine in ("a", "b")', { 'ProcessCommandLine|cased': ['a', 'b'] }],
    ['ProcessCommandLine contains_cs "a"', { 'ProcessCommandLine|contains|cased': 'a' }],
    ['ProcessCommandLine startswith @"C:\\x"', { 'ProcessCommandLine|startswith': 'C:\\\\x' }],
    ['ProcessCommandLine has "word"', { 'ProcessCommandLine|has': 'word' }],
    ['ProcessCommandLine has_cs "word"', { 'ProcessCommandLine|has|cased': 'word' }],
    ['ProcessCommandLine has_any ("a1", "b2")', { 'ProcessCommandLine|has': ['a1', 'b2'] }],
    ['ProcessCommandLine has_all ("a1", "b2")', { 'ProcessCommandLine|has|all': ['a1', 'b2'] }],
    ['ProcessCommandLine matches regex "a[0-9]+"', { 'ProcessCommandLine|re': 'a[0-9]+' }],
    ['ProcessCommandLine matches regex "(?i)abc"', { 'ProcessCommandLine|re|i': 'abc' }],
    ['ProcessCommandLine matches regex @"(?is)^a.*\\\\s[\\x{20}\\x{A0}]"', { 'ProcessCommandLine|re|i|s': '^a.*\\\\s[\\u0020\\u00A0]' }],
    ['ProcessCommandLine contains FileName', { 'ProcessCommandLine|fieldref|contains': 'FileName' }],
    ['ProcessId > 4', { 'ProcessId|gt': 4 }],
    ['ProcessId between (1 .. 9)', { 'ProcessId|gte': 1, 'ProcessId|lte': 9 }],
    ['isempty(ProcessCommandLine)', { ProcessCommandLine: null }],
    ['isnotempty(ProcessCommandLine)', { 'ProcessCommandLine|exists': true }],
    ['ipv4_is_in_range(AccountSid, "10.0.0.0/8")', { 'AccountSid|cidr': '10.0.0.0/8' }],
    ['ipv4_is_private(AccountSid)', { 'AccountSid|cidr': ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }],
    ['tolower(ProcessCommandLine) == "abc"', { ProcessCommandLine: 'abc' }],
    ['tostring(AdditionalFields.a.b) == "x"', { 'AdditionalFields.a.b|cased': 'x' }],
    ['tostring(parse_json(AdditionalFields)["a"]) =~ "x"', { 'AdditionalFields.a': 'x' }],
    ['tostring(AdditionalFields[1].a[0]) == "x"', { 'AdditionalFields[1].a[0]|cased': 'x' }],
  ];
  for (const [pred, sel] of cases) {
    it(pred, () => {
      const d = det(`DeviceProcessEvents | where ${pred}`);
      expect(Object.values(d).filter((v) => typeof v === 'object')[0]).toEqual(sel);
    });
  }

  it('negated operators lift as not of the positive item', () => {
    expect(det('DeviceProcessEvents | where ProcessCommandLine !has "x1"').condition).toBe('not filter_ProcessCommandLine');
    expect(det('DeviceProcessEvents | where ProcessCommandLine !in~ ("a", "b")').filter_ProcessCommandLine).toEqual({ ProcessCommandLine: ['a', 'b'] });
    expect(det('DeviceProcessEvents | where not(ProcessCommandLine contains "a" or FileName =~ "b")').condition).toBe('not (filter_ProcessCommandLine or filter_FileName)');
  });

  it('an or of one item\'s values is one list', () => {
    expect(det('DeviceProcessEvents | where FileName =~ "a" or FileName =~ "b"')).toEqual({ selection_FileName: { FileName: ['a', 'b'] }, condition: 'selection_FileName' });
  });

  it('let scalars are inlined, let lists are parameters, an empty list a placeholder', () => {
    const r = ok(imp('let n = "x.exe";\nlet l = dynamic([]);\nDeviceProcessEvents | where FileName =~ n and ProcessCommandLine has_any (l)'));
    const doc = parseYaml(r.rule) as Record<string, any>;
    expect(doc.detection.selection_FileName).toEqual({ FileName: 'x.exe', 'ProcessCommandLine|has|expand': '%l%' });
    expect(doc.parameters).toBeUndefined();
    expect(r.rule).toContain('%l% is a placeholder');
  });

  it('the lookback comes from ago() on the time column, the schedule from a Sentinel rule', () => {
    expect((parseYaml(ok(imp('DeviceProcessEvents | where TimeGenerated >= ago(2d) | where FileName =~ "a"')).rule) as any).schedule).toEqual({ lookback: '2d' });
    expect((parseYaml(ok(imp('DeviceProcessEvents | where Timestamp > ago(3h) | where FileName =~ "a"', 'native', 'defender-xdr')).rule) as any).schedule).toEqual({ lookback: '3h' });
  });

  it('a case-insensitive test of text with ß is refused (KQL does not fold ß and ẞ, the model does)', () => {
    expect(refused(imp('DeviceProcessEvents | where FileName =~ "straße"')).error).toContain('do not fold ß and ẞ');
    ok(imp('DeviceProcessEvents | where FileName == "straße"'));
  });
});

describe('refusals name the construct and its line:col in the query', () => {
  const cases: [string, string, string, RegExp?][] = [
    ['DeviceProcessEvents\n| join (DeviceFileEvents) on DeviceId', 'join', '2:3'],
    ['DeviceProcessEvents\n| where FileName =~ "a"\n| summarize count() by DeviceId\n| where count_ > 5', 'summarize', '3:3', /a correlation rule counts in sliding windows/],
    ['union DeviceProcessEvents, DeviceFileEvents | where FileName =~ "a"', 'union', '1:1'],
    ['DeviceProcessEvents | parse ProcessCommandLine with * "x" y | where y == "a"', 'parse', '1:23'],
    ['DeviceProcessEvents | mv-expand AdditionalFields', 'mv-expand', '1:23'],
    ['DeviceProcessEvents | where extract("a(b)", 1, FileName) == "b"', 'extract("a(b)", 1, FileName)', '1:29', /function extract\(\) in a predicate/],
    ['let t = DeviceFileEvents | where FileName =~ "a";\nDeviceProcessEvents | where FileName =~ "b"', 'let t = <table>', '1:1', /cross-table/],
    ['DeviceProcessEvents\n| where TimeGenerated between (ago(2d) .. ago(1d))', 'TimeGenerated between', '2:9', /time window other than a lookback/],
    ['DeviceProcessEvents | where ProcessId > 4 | take 10', 'take', '1:45'],
    ['DeviceProcessEvents | where not(ProcessId > 4)', 'not(ProcessId > 4)', '1:29', /null/],
    ['DeviceProcessEvents | where isnull(FileName)', 'isnull(FileName)', '1:29', /never null/],
    ['SigninLogs | where ResultType == 500121', 'ResultType == 500121', '1:20', /compared with a number: KQL converts one side/],
    ['DeviceProcessEvents | where FileName matches regex @"a\\sb"', 'FileName matches regex', '1:29', /RE2 syntax the model reads differently \(\\s\)/],
    ['DeviceProcessEvents | where FileName matches regex "a(?i)b"', 'FileName matches regex', '1:29', /inline flag/],
    ['DeviceProcessEvents | where tostring(AdditionalFields[-1].a) == "x"', 'AdditionalFields[- 1]', '1:38', /index counted from the end/],
    ['DeviceProcessEvents | where tostring(AdditionalFields[FileName]) == "x"', 'AdditionalFields[FileName]', '1:38', /computed key or index/],
  ];
  for (const [q, construct, at, why] of cases) {
    it(construct, () => {
      const r = refused(imp(q));
      expect(r.kind).toBe('unsupported');
      expect(r.construct).toContain(construct);
      expect(r.error.startsWith(`q.kql:${at}: `)).toBe(true);
      if (why) expect(r.error).toMatch(why);
    });
  }

  it('a query is parsed a statement at a time: refused at its first refused statement or operator, a later syntax error unread', () => {
    // The parser stops at the refusal: what follows it is not imported, so its syntax error is not what the query is refused for.
    const r1 = refused(imp('let t = DeviceFileEvents | where FileName =~ "a";\nDeviceProcessEvents | where FileName =~ ('));
    expect(r1.error.startsWith('q.kql:1:1: let t = <table>:')).toBe(true);
    const r2 = refused(imp('DeviceProcessEvents\n| where FileName =~ "a"\n| summarize count() by DeviceId\n| where count_ > (5'));
    expect(r2.error.startsWith('q.kql:3:3: summarize:')).toBe(true);
    // Positions in a later statement are the whole query's.
    const r3 = refused(imp('let a = dynamic(["x"]);\nlet b = 5;\n  DeviceProcessEvents | where FileName has_any (a) | mv-expand AdditionalFields'));
    expect(r3.error.startsWith('q.kql:3:54: mv-expand:')).toBe(true);
  });

  it('a query that starts with ( or union is refused from its first tokens, named as the parse names it', () => {
    const q = 'let a = 1;\n(union isfuzzy=true (DeviceProcessEvents | where FileName =~ "a"), (DeviceFileEvents | where FileName =~ "b"))\n| where FileName =~ "c"';
    const r = refused(imp(q));
    expect(r.construct).toBe('(union isfuzzy = true(DeviceProcessEv...');
    expect(r.error).toBe('q.kql:2:1: (union isfuzzy = true(DeviceProcessEv...: the query must start with one table');
    // Not parsed: a syntax error inside it is not what it is refused for.
    expect(refused(imp(q.replace('=~ "b"', '=~ '))).error).toBe(r.error);
    // Not the last statement: the statements after it are lifted first, as before.
    expect(refused(imp('(DeviceProcessEvents) | where FileName =~ "a";\nlet t = DeviceFileEvents;')).construct).toBe('let t = <table>');
  });

  it('a let of a table is refused from its first tokens, named and placed as the parse names it', () => {
    for (const value of ['DeviceFileEvents | where FileName =~ "a"', 'DeviceFileEvents', 'materialize(DeviceFileEvents | where FileName =~ "a")']) {
      const r = refused(imp(`let n = 5;\n  let t = ${value};\nDeviceProcessEvents | where FileName =~ "b"`));
      expect(r.error).toBe('q.kql:2:3: let t = <table>: a tabular (cross-table) let statement');
    }
    // Not parsed: a syntax error after its first tokens is not what it is refused for.
    expect(refused(imp('let t = DeviceFileEvents | where FileName =~ ;\nDeviceProcessEvents')).construct).toBe('let t = <table>');
  });

  it('a function declaration is read only when the rest of the query imports', () => {
    const fn = 'let f = (x:string) { DeviceFileEvents | where FileName =~ x };\n';
    ok(imp(`${fn}DeviceProcessEvents | where FileName =~ "a"`));
    // Broken, before a refused statement: the refusal (the declaration is not what is imported).
    const broken = fn.replace('=~ x', '=~ x |');
    expect(refused(imp(`${broken}let t = DeviceFileEvents;\nDeviceProcessEvents | where FileName =~ "a"`)).construct).toBe('let t = <table>');
    // Broken, in a query that would import: its syntax error, the first of the query.
    expect(refused(imp(broken)).error).toMatch(/^q\.kql:1:62: syntax: /);
    const alone = refused(imp(`${broken}DeviceProcessEvents | where FileName =~ "a"`));
    expect(alone.kind).toBe('invalid');
    expect(alone.error).toMatch(/^q\.kql:1:62: syntax: not valid KQL: Query operator expected/);
    const r = refused(imp(`${broken}DeviceProcessEvents | where FileName =~ "a" and`));
    expect(r.kind).toBe('invalid');
    expect(r.error).toMatch(/^q\.kql:1:62: syntax: not valid KQL: Query operator expected/);
  });

  it('a syntax error in the part that is imported is still refused, at its place in the whole query', () => {
    const r1 = refused(imp('let a = dynamic(["x"]);\nDeviceProcessEvents | where FileName has_any (a) and'));
    expect(r1.kind).toBe('invalid');
    expect(r1.error).toMatch(/^q\.kql:2:53: syntax: not valid KQL/);
    const r2 = refused(imp('let a = dynamic(["x"];\nDeviceProcessEvents | where FileName has_any (a)'));
    expect(r2.kind).toBe('invalid');
    expect(r2.error).toMatch(/^q\.kql:1:22: syntax: not valid KQL/);
    // A syntax error before the first operator the lift does not read is reported, not the operator.
    const r3 = refused(imp('DeviceProcessEvents | where FileName =~ | summarize count()'));
    expect(r3.kind).toBe('invalid');
    // An error in a let statement the query later refuses at is reported: that statement is read first.
    const r4 = refused(imp('let a = (;\nlet t = DeviceFileEvents;\nDeviceProcessEvents | where FileName =~ "x"'));
    expect(r4.kind).toBe('invalid');
  });

  it('an unknown column is a mapping error with the table\'s columns', () => {
    const r = refused(imp('DeviceProcessEvents | where FileNam =~ "a"'));
    expect(r.kind).toBe('mapping');
    expect(r.error).toMatch(/q.kql:1:29: FileNam: FileNam is not a column of DeviceProcessEvents on platform sentinel \(did you mean FileName\?\); its columns: AccountDomain,/);
  });

  it('a Sentinel rule alerting on a count of results is refused at its triggerThreshold line', () => {
    const r = refused(importKusto('r.yaml', 'name: x\nseverity: Low\ntriggerOperator: gt\ntriggerThreshold: 5\nquery: |\n  DeviceProcessEvents | where FileName =~ "a"\n', { fields: 'native' }));
    expect(r.error).toBe('r.yaml:4:1: triggerOperator gt triggerThreshold 5: an alert on a count of results over each run\'s query period (a fixed window); a correlation rule counts in sliding windows, which select other results');
  });

  it('a Sentinel file read by the fast YAML reader or the library (CRLF, trailing spaces, duplicate keys) imports the same', () => {
    const lf = 'name: x\nseverity: High\ntactics:\n  - Execution\nquery: |\n  DeviceProcessEvents\n  | where FileName =~ "a"\n  | join (T) on x\n';
    const variants = [lf.replace(/\n/g, '\r\n'), lf.replace('severity: High', 'severity: High  '), lf.replace('name: x', 'name: y\nname: x')];
    const r = refused(importKusto('r.yaml', lf, { fields: 'native' }));
    expect(r.error.startsWith('r.yaml:8:5 (query 3:3): join:')).toBe(true);
    for (const v of variants) expect(refused(importKusto('r.yaml', v, { fields: 'native' })).error).toBe(v.includes('name: y') ? r.error.replace('r.yaml:8:5', 'r.yaml:9:5') : r.error);
    const good = lf.replace('  | join (T) on x\n', '');
    expect(ok(importKusto('r.yaml', good.replace(/\n/g, '\r\n'), { fields: 'native' })).rule).toBe(ok(importKusto('r.yaml', good, { fields: 'native' })).rule);
  });

  it('a position inside a Sentinel YAML block is the file\'s line and column', () => {
    const r = refused(importKusto('r.yaml', 'name: x\nquery: |\n  DeviceProcessEvents\n  | where FileName =~ "a"\n  | join (T) on x\n', { fields: 'native' }));
    expect(r.error.startsWith('r.yaml:5:5 (query 3:3): join:')).toBe(true);
  });
});

describe('Sentinel metadata', () => {
  it('title, id, description, level, ATT&CK, schedule and entity columns', () => {
    const y = [
      'id: 6f7e1b8c-1c1e-4d3a-9a3e-2b1c0d9e8f7a',
      'name: Suspicious thing',
      "description: |\n  'Finds a thing.'",
      'severity: High',
      'queryFrequency: 1h',
      'queryPeriod: 2h',
      'triggerOperator: gt',
      'triggerThreshold: 0',
      'tactics:\n  - DefenseEvasion\n  - CommandAndControl',
      'relevantTechniques:\n  - T1059.001',
      'query: |\n  DeviceProcessEvents\n  | where FileName =~ "a.exe"\n  | extend AccountCustomEntity = AccountName',
      'entityMappings:\n  - entityType: Account\n    fieldMappings:\n      - identifier: Name\n        columnName: AccountCustomEntity',
      'kind: Scheduled',
    ].join('\n');
    const doc = parseYaml(ok(importKusto('r.yaml', y, { fields: 'native' })).rule) as Record<string, any>;
    expect(doc.title).toBe('Suspicious thing');
    expect(doc.id).toBe('6f7e1b8c-1c1e-4d3a-9a3e-2b1c0d9e8f7a');
    expect(doc.description).toBe('Finds a thing.');
    expect(doc.level).toBe('high');
    expect(doc.tags).toEqual(['attack.defense-evasion', 'attack.command-and-control', 'attack.t1059.001']);
    expect(doc.schedule).toEqual({ frequency: '1h', lookback: '2h' });
    expect(doc.output).toEqual(['AccountName']);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: the original query, the query rulec builds from the import, and the evaluator on
// the import select the same rows.

const ROUND_TRIP: string[] = [
  'DeviceProcessEvents | where FileName =~ "cmd.exe" and ProcessCommandLine contains "/c"',
  'DeviceProcessEvents | where FileName in~ ("a.exe", "B.exe") or ProcessCommandLine startswith_cs "Run"',
  'DeviceProcessEvents | where ProcessCommandLine has_any ("mimi", "kat.exe") and not(FileName endswith ".dll")',
  'DeviceProcessEvents | where ProcessCommandLine has_all ("net", "user") and not(FileName == "net.exe")',
  'let l = dynamic(["x.exe", "y.exe"]);\nDeviceProcessEvents | where FileName in~ (l) or ProcessCommandLine has "-enc"',
  'DeviceProcessEvents | where ProcessId >= 4 and ProcessId < 10 or ProcessId > 100',
  'DeviceProcessEvents | where ProcessCommandLine contains FileName and not(FileName =~ ProcessCommandLine)',
  'DeviceProcessEvents | where isempty(ProcessCommandLine) or ProcessCommandLine matches regex "a[bc]+d"',
  'DeviceFileEvents | extend T = tostring(parse_json(AdditionalFields).FileType) | where T contains "Exec" and ActionType == "FileCreated"',
  // between, !endswith and tolower() are left to the operator tests above until the test
  // interpreter runs them (it refuses them as unsupported expressions).
];

/** The texts a rule's literals and their near misses are drawn from. */
function literalsOf(q: string): string[] {
  const lits = [...q.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const near = lits.flatMap((s) => [s.toUpperCase(), `x${s}`, `${s}x`, `${s} tail`, `head ${s}`, s.slice(1), s.slice(0, -1), `C:\\dir\\${s}`]);
  return [...new Set([...lits, ...near, '', 'other'])];
}

describe('round trip: original KQL, rebuilt KQL and the evaluator agree', { timeout: 60_000 }, () => {
  for (const q of ROUND_TRIP) {
    it(q.replace(/\n/g, ' '), () => {
      const yaml = ok(imp(q)).rule;
      const { ir } = loaded(yaml);
      const original = compileKql(q);
      const rebuilt = compileKql(buildKql(yaml));
      const texts = literalsOf(q);
      const text = fc.oneof(fc.constantFrom(...texts), fc.string({ maxLength: 6 }));
      const row = fc.record({
        FileName: text,
        ProcessCommandLine: fc.oneof(text, fc.tuple(text, text).map(([a, b]) => `${a} ${b}`)),
        ProcessId: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constant(null)),
        ActionType: fc.constantFrom('FileCreated', 'FileDeleted', 'filecreated'),
        FileType: fc.option(text, { nil: undefined }),
      });
      const now = Date.UTC(2026, 0, 1);
      let selected = 0;
      fc.assert(
        fc.property(row, (r) => {
          const dyn = r.FileType === undefined ? {} : { FileType: r.FileType };
          const kRow: Row = { FileName: r.FileName, ProcessCommandLine: r.ProcessCommandLine, ProcessId: r.ProcessId as KValue, ActionType: r.ActionType, AdditionalFields: { dyn }, TimeGenerated: { dt: now } };
          const event = { FileName: r.FileName, ProcessCommandLine: r.ProcessCommandLine, ...(r.ProcessId === null ? {} : { ProcessId: r.ProcessId }), ActionType: r.ActionType, AdditionalFields: dyn };
          const a = original.run({ ...kRow }, now);
          expect(rebuilt.run({ ...kRow }, now)).toBe(a);
          expect(matchEvent(ir, event)).toBe(a);
          if (a) selected++;
        }),
        { numRuns: 1000, seed: 13 },
      );
      // A property that never selects a row would prove little.
      expect(selected).toBeGreaterThan(0);
    });
  }
});

describe('sigma mode', () => {
  it("rulec's own Sentinel artifact comes back with Sigma fields, its regex flags and its field comparison", () => {
    const path = 'golden/kusto/sentinel-yaml/windows/registry_set_win_run_key_script.yaml';
    const doc = parseYaml(ok(importKusto(path, readFileSync(path, 'utf8'), { fields: 'sigma' })).rule) as Record<string, any>;
    expect(doc.native).toBeUndefined();
    expect(doc.logsource).toEqual({ product: 'windows', category: 'registry_set' });
    const items = Object.assign({}, ...Object.entries(doc.detection).filter(([k]) => k !== 'condition').map(([, v]) => v));
    expect(items['Details|re|m|s']).toBe('^"?[a-z]:\\\\.*\\\\(?:wscript|cscript|mshta)\\.exe');
    expect(items['Details|fieldref|contains']).toBe('Image');
    expect(items['TargetObject|re|i|s']).toBe('^.*\\\\Run\\\\Updater.$');
  });

  it("a numeric row condition of the log source (SecurityEvent's EventID == 4688) is the log source, not a predicate", () => {
    const doc = parseYaml(ok(imp('SecurityEvent\n| where EventID == 4688\n| where CommandLine contains "base64 --decode"', 'sigma')).rule) as Record<string, any>;
    expect(doc.logsource).toEqual({ product: 'windows', category: 'process_creation' });
    expect(doc.detection).toEqual({ selection_CommandLine: { 'CommandLine|contains': 'base64 --decode' }, condition: 'selection_CommandLine' });
    // Another event of the table is a test of the Security log's EventID, kept.
    const other = parseYaml(ok(imp('SecurityEvent\n| where EventID == 4624', 'sigma')).rule) as Record<string, any>;
    expect(other.logsource).toEqual({ product: 'windows', service: 'security' });
    expect(other.detection).toEqual({ selection_EventID: { EventID: 4624 }, condition: 'selection_EventID' });
  });
});
