/**
 * `rulec explain`: each section of the page from its source (ATT&CK tables, every target's mapping
 * data, the compiled query, the IR, the artifacts' alert mapping), and the command line.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection, loadText } from '../../src/collection/load.js';
import { main } from '../../src/cli/main.js';
import { corpusIndex, explainRule, type Explanation } from '../../src/explain/index.js';
import { eventCoverage } from '../../src/explain/coverage.js';
import type { DetectionRule } from '../../src/model/types.js';
import { capture } from '../helpers/cli.js';
import { RULES_DIR } from '../harness/equivalence.js';

const SEED = `${RULES_DIR}/seed/custom_script_extension_executable_drop.yml`;
/** The seed imported with --fields native (a copy of golden/import/native/, outside rules/). */
const NATIVE = new URL('../fixtures/native/custom_script_extension_executable_drop.yml', import.meta.url).pathname;

async function explainText(text: string, opts: { target?: string; platform?: string; corpus?: string[] } = {}): Promise<Explanation> {
  const [loaded] = loadText('rule.yml', text);
  expect(loaded!.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const corpus = (opts.corpus ?? []).map((t, i) => loadText(`c${i}.yml`, t)[0]!.ir!);
  return explainRule('rule.yml', loaded!.rule as DetectionRule, loaded!.ir!, { target: opts.target ?? 'kusto', ...(opts.platform ? { platform: opts.platform } : {}), corpus: corpusIndex(corpus), inCorpus: false });
}

const rule = (detection: string, extra = ''): string => `title: T
id: 11111111-2222-3333-4444-555555555555
logsource: {product: windows, category: process_creation}
${extra}detection:
${detection}
`;

async function seed(): Promise<Explanation> {
  const { rules } = loadCollection([SEED]);
  const irs = effectiveIr(rules);
  const [loaded, ir] = [...irs][0]!;
  const all = loadCollection([RULES_DIR]);
  return explainRule(loaded.path, loaded.rule as DetectionRule, ir, { target: 'kusto', corpus: corpusIndex(effectiveIr(all.rules).values()), inCorpus: true });
}

describe('explain: the seed rule', () => {
  it('has the seed page values: tactics, coverage rows, six stages, indicators, output field', async () => {
    const x = await seed();
    expect(x.attack).toEqual([
      { tactic: { id: 'TA0002', name: 'Execution' }, techniques: [{ id: 'T1651', name: 'Cloud Administration Command' }] },
      { tactic: { id: 'TA0008', name: 'Lateral Movement' }, techniques: [{ id: 'T1021.008', name: 'Remote Services: Direct Cloud VM Connections' }] },
    ]);
    const row = (provider: string, event: string) => x.eventCoverage.find((r) => r.provider === provider && r.event === event);
    expect(row('Sysmon', 'Event ID 11')).toMatchObject({ platform: 'Windows', title: 'FileCreate' });
    expect(row('Sysmon', 'Event ID 11')!.readBy).toEqual(expect.arrayContaining(['eval', 'kusto/sentinel', 'eql/ecs-windows', 'spl/sysmon']));
    expect(row('Security-Auditing', 'Event ID 4663')).toMatchObject({ title: 'An attempt was made to access an object.', readBy: [] });
    expect(row('Defender-DeviceFileEvents', 'FileCreated')).toMatchObject({ platform: 'Defender XDR', title: 'File created', readBy: ['kusto/sentinel', 'kusto/defender-xdr'] });
    expect(x.eventCoverage.slice(0, 3).map((r) => r.provider)).toEqual(['Sysmon', 'Security-Auditing', 'Defender-DeviceFileEvents']);

    expect(x.body.ok).toBe(true);
    if (!x.body.ok) return;
    expect(x.body.parameters[1]).toMatch(/^let win_executable_extensions = dynamic\(\[".dll", ".exe"/);
    expect(x.body.stages.map((s) => s.kind)).toEqual(['source', 'where', 'where', 'where', 'extend', 'where']);
    expect(x.body.stages.map((s) => s.origin)).toEqual(['logsource', 'schedule', 'logsource', 'detection', 'detection', 'detection']);
    expect(x.body.stages[0]!.text).toBe('DeviceFileEvents');
    expect(x.body.stages[3]!.predicates).toEqual(['Image endswith \\customscripthandler.exe']);
    expect(x.body.stages[5]!.predicates).toEqual(['TargetFilename endswith .dll, .exe, .msi, .bat, .cmd, .com, .vbs, .wsf, .scr, .cpl', 'FileType contains Executable']);

    expect(x.indicators.map((i) => [i.field, i.kind])).toEqual([['Image', 'endswith'], ['TargetFilename', 'endswith'], ['FileType', 'contains']]);
    expect(x.indicators[1]!.values).toHaveLength(10);

    expect(x.output.fields).toEqual([
      {
        field: 'FileType',
        targets: [
          { target: 'kusto/sentinel', column: 'FileType', from: 'extend', uses: ['customDetails.FileType'] },
          { target: 'kusto/defender-xdr', column: 'FileType', from: 'extend', uses: ['alert field (custom detection result column)'] },
        ],
      },
    ]);
    const sentinel = x.output.alerts.find((a) => a.target === 'kusto/sentinel')!;
    expect(sentinel.entities).toContainEqual({ entity: 'entityMappings Host.HostName', column: 'DeviceName' });
    expect(x.output.alerts.find((a) => a.target === 'kusto/defender-xdr')!.entities).toEqual([{ entity: 'impactedAssets impactedDeviceAsset', column: 'DeviceId' }]);
  });

  it.each([
    ['kusto', 'sentinel', '\n'],
    ['kusto', 'defender-xdr', '\n'],
    ['spl', 'sysmon', ''],
    ['spl', 'cim', ''],
  ])('the %s stages on %s are the query: parameters and stages joined give its text, for every rule of rules/', async (target, platform, end) => {
    const { rules } = loadCollection([RULES_DIR]);
    let n = 0;
    for (const [loaded, ir] of effectiveIr(rules)) {
      const x = await explainRule(loaded.path, loaded.rule as DetectionRule, ir, { target, platform, corpus: new Map(), inCorpus: false });
      if (!x.body.ok) continue;
      expect(x.body.stages.some((s) => s.kind === 'query'), loaded.path).toBe(false);
      expect([...x.body.parameters, ...x.body.stages.map((s) => s.text)].join('\n') + end, loaded.path).toBe(x.body.query);
      n++;
    }
    expect(n).toBeGreaterThan(2);
  });
});

describe('explain: ATT&CK', () => {
  it('a revoked technique is a warning naming its replacement; an unknown id is a warning', async () => {
    const x = await explainText(rule('  sel: {Image|endswith: x.exe}\n  condition: sel', 'tags: [attack.t1073, attack.t1999]\n'));
    expect(x.warnings.some((w) => w.includes('T1073') && w.includes('attack.t1574.001'))).toBe(true);
    expect(x.warnings.some((w) => w.includes('T1999') && w.includes('not a technique'))).toBe(true);
  });
  it('a sub-technique sits under the tactics ATT&CK gives it when the rule tags none', async () => {
    const x = await explainText(rule('  sel: {Image|endswith: x.exe}\n  condition: sel', 'tags: [attack.t1059.001]\n'));
    expect(x.attack).toEqual([{ tactic: { id: 'TA0002', name: 'Execution' }, techniques: [{ id: 'T1059.001', name: 'Command and Scripting Interpreter: PowerShell' }] }]);
  });
});

describe('explain: event coverage', () => {
  it('a Windows service lists its channel; a category no data knows has no row', async () => {
    expect((await eventCoverage({ product: 'windows', service: 'security' }))[0]).toMatchObject({ platform: 'Windows', provider: 'Security-Auditing', event: '' });
    // Only the eql raw platform, which reads documents of any log source under Sigma's names.
    expect((await eventCoverage({ product: 'windows', category: 'no_such_category' })).map((r) => r.readBy)).toEqual([['eql/raw']]);
  });
  it('a related event shows only for its category', async () => {
    expect((await eventCoverage({ product: 'windows', category: 'process_creation' })).some((r) => r.event === 'Event ID 4663')).toBe(false);
  });
});

describe('explain: a native rule (native:)', () => {
  const nativeRule = (table: string, detection: string, logsource = '{product: windows, category: file_event}'): string =>
    `title: T\nid: 11111111-2222-3333-4444-555555555556\nlogsource: ${logsource}\nnative: {target: kusto, platform: sentinel, table: ${table}}\ndetection:\n${detection}\n`;

  it('covers its table on the platforms that have it, with the ActionType its conditions select, and no Sigma source', async () => {
    const x = await explainText(nativeRule('DeviceFileEvents', '  a: {ActionType: FileCreated}\n  b: {FileName|endswith: .exe}\n  condition: a and b'));
    expect(x.eventCoverage).toEqual([{ platform: 'Defender XDR', provider: 'Defender-DeviceFileEvents', event: 'FileCreated', title: 'File created', readBy: ['eval', 'kusto/sentinel', 'kusto/defender-xdr'] }]);
  });
  it('a table of one platform is read there only; EventIDs of every branch of an or are listed, one the rule excludes is not', async () => {
    const x = await explainText(
      nativeRule('SecurityEvent', '  a: {EventID: 4688}\n  b: {EventID: 4689}\n  c: {EventID: 4624}\n  d: {CommandLine|contains: whoami}\n  condition: (a or b) and d and not c', '{product: windows, service: security}'),
    );
    expect(x.eventCoverage.map((r) => [r.provider, r.event, r.readBy])).toEqual([
      ['Security-Auditing', 'Event ID 4688', ['eval', 'kusto/sentinel']],
      ['Security-Auditing', 'Event ID 4689', ['eval', 'kusto/sentinel']],
    ]);
  });
  it('an event column the conditions do not pin (an or with an unconstrained branch) gives the whole table', async () => {
    const x = await explainText(nativeRule('DeviceFileEvents', '  a: {ActionType: FileCreated}\n  b: {FileName|endswith: .exe}\n  condition: a or b'));
    expect(x.eventCoverage.map((r) => [r.event, r.title])).toEqual([['', '']]);
  });
  it('its body is shown on its own platform by default; --platform still picks another', async () => {
    const text = nativeRule('DeviceFileEvents', '  a: {ActionType: FileCreated}\n  condition: a').replace('platform: sentinel', 'platform: defender-xdr');
    const x = await explainText(text);
    expect(x.body).toMatchObject({ ok: true, target: 'kusto', platform: 'defender-xdr' });
    expect((await explainText(text, { platform: 'sentinel' })).body).toMatchObject({ ok: true, platform: 'sentinel' });
  });
  it('EQL and SPL bodies are their refusals, pointing at --fields sigma', async () => {
    for (const target of ['eql', 'spl']) {
      const x = await explainText(nativeRule('DeviceFileEvents', '  a: {ActionType: FileCreated}\n  condition: a'), { target });
      expect(x.body).toMatchObject({ ok: false, kind: 'unsupported', target });
      expect(!x.body.ok && x.body.error).toContain('--fields sigma');
    }
  });
});

describe('explain: indicators', () => {
  it('kinds, negation and case; corpus counts other rules with the same field, kind and value (case-insensitively folded)', async () => {
    const x = await explainText(
      rule(`  sel:
    Image|endswith: '\\WHOAMI.exe'
    CommandLine|re: 'a+b'
    DestinationIp|cidr: 10.0.0.0/8
  not_this:
    User|contains|cased: Admin
  condition: sel and not not_this`),
      {
        corpus: [
          rule(`  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel`),
          rule(`  sel: {Image|endswith: '\\whoami.exe', User|contains|cased: admin}\n  condition: sel`),
          rule(`  sel: {Image|startswith: '\\whoami.exe'}\n  condition: sel`),
        ],
      },
    );
    expect(x.indicators).toEqual([
      { field: 'Image', kind: 'endswith', negated: false, caseSensitive: false, values: [{ value: '\\WHOAMI.exe', corpus: 2 }] },
      { field: 'CommandLine', kind: 'regex', negated: false, caseSensitive: true, values: [{ value: 'a+b', corpus: 0 }] },
      { field: 'DestinationIp', kind: 'cidr', negated: false, caseSensitive: false, values: [{ value: '10.0.0.0/8', corpus: 0 }] },
      { field: 'User', kind: 'contains', negated: true, caseSensitive: true, values: [{ value: 'Admin', corpus: 0 }] },
    ]);
  });
});

describe('explain: term matches', () => {
  it('has is kind has, has|all is has all, has|cased is case-sensitive; corpus counts the same term', async () => {
    const x = await explainText(
      rule(`  sel:
    CommandLine|has: [encodedcommand, enc]
  both:
    CommandLine|has|all: [invoke, expression]
  cs:
    Image|has|cased: PowerShell
  condition: sel and both and cs`),
      { corpus: [rule(`  sel: {CommandLine|has: ENCODEDCOMMAND}
  condition: sel`), rule(`  sel: {CommandLine|contains: encodedcommand}
  condition: sel`)] },
    );
    expect(x.indicators).toEqual([
      { field: 'CommandLine', kind: 'has', negated: false, caseSensitive: false, values: [{ value: 'encodedcommand', corpus: 1 }, { value: 'enc', corpus: 0 }] },
      { field: 'CommandLine', kind: 'has all', negated: false, caseSensitive: false, values: [{ value: 'invoke', corpus: 0 }, { value: 'expression', corpus: 0 }] },
      { field: 'Image', kind: 'has', negated: false, caseSensitive: true, values: [{ value: 'PowerShell', corpus: 0 }] },
    ]);
  });
});

describe('explain: other targets', () => {
  it('spl: the search, eval, where and fields commands', async () => {
    const x = await explainText(rule("  sel: {Image|endswith: x.exe}\n  night: {UtcTime|hour|gte: 22}\n  condition: sel and night"), { target: 'spl' });
    expect(x.body.ok && x.body.stages.map((s) => [s.kind, s.origin])).toEqual([
      ['search', 'logsource+detection'],
      ['eval', 'detection'],
      ['where', 'detection'],
      ['fields', 'detection'],
    ]);
  });
  it('a target without stages shows its query as one stage, with every predicate of the rule', async () => {
    const x = await explainText(rule('  sel: {Image|endswith: x.exe}\n  condition: sel'), { target: 'eql' });
    expect(x.body.ok && x.body.stages).toEqual([{ kind: 'query', text: x.body.ok ? x.body.query.replace(/\n$/, '') : '', origin: 'query', predicates: ['Image endswith x.exe'] }]);
  });
  it('a rule the target refuses shows why', async () => {
    const x = await explainText(`title: T\nlogsource: {product: windows, service: system}\ndetection:\n  sel: {EventID: 7045}\n  condition: sel\n`, { platform: 'defender-xdr' });
    expect(x.body).toMatchObject({ ok: false, kind: 'mapping', target: 'kusto', platform: 'defender-xdr' });
  });
});

describe('rulec explain', () => {
  it('prints the sections in the seed page order, without colour when not on a terminal', async () => {
    const c = capture();
    expect(await main(['explain', SEED], c.io)).toBe(0);
    const text = c.out.join('\n');
    const order = ['MITRE ATT&CK coverage', 'References', 'Event coverage', 'Rule body (kusto, platform sentinel)', 'Stages and predicates', 'Indicators', 'Output fields'];
    const at = order.map((h) => text.indexOf(`\n${h}\n`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(text).not.toContain('\x1b[');
  });
  it('--json prints one object; --platform picks the query', async () => {
    const c = capture();
    expect(await main(['explain', '--json', '--platform', 'defender-xdr', SEED], c.io)).toBe(0);
    expect(c.out).toHaveLength(1);
    const x = JSON.parse(c.out[0]!) as Explanation;
    expect(x.body).toMatchObject({ ok: true, target: 'kusto', platform: 'defender-xdr' });
    expect(x.body.ok && x.body.query).toContain('| where Timestamp > ago(1h)');
  });
  it('--json of a native rule (the imported seed): its table, the columns as indicators, the output field read by Sentinel', async () => {
    const c = capture();
    expect(await main(['explain', '--json', NATIVE], c.io)).toBe(0);
    const x = JSON.parse(c.out[0]!) as Explanation;
    expect(x.eventCoverage).toEqual([{ platform: 'Defender XDR', provider: 'Defender-DeviceFileEvents', event: 'FileCreated', title: 'File created', readBy: ['eval', 'kusto/sentinel', 'kusto/defender-xdr'] }]);
    expect(JSON.stringify(x.eventCoverage)).not.toMatch(/Sysmon|eql|spl/);
    // The query starts from the rule's own table, not from a log source's.
    expect(x.body.ok && x.body.stages.map((s) => [s.kind, s.origin, s.text])[0]).toEqual(['source', 'native', 'DeviceFileEvents']);
    expect(x.native).toEqual({ target: 'kusto', platform: 'sentinel', table: 'DeviceFileEvents' });
    expect(x.indicators.map((i) => i.field)).toEqual(['ActionType', 'InitiatingProcessFileName', 'FileName', 'AdditionalFields.FileType']);
    expect(x.output.fields).toEqual([{ field: 'AdditionalFields.FileType', targets: [expect.objectContaining({ target: 'kusto/sentinel', column: 'AdditionalFields_FileType' })] }]);
    // Defender XDR has the table, but its AdditionalFields is not a dynamic column there: not compiled, and why.
    expect(x.output.alerts.find((a) => a.target === 'kusto/defender-xdr')?.error).toContain("field 'AdditionalFields.FileType' is not a column of DeviceFileEvents");
  });
  it('the text of a native rule names its table and heads its indicators Column; a Sigma rule\'s says Field', async () => {
    const c = capture();
    expect(await main(['explain', NATIVE], c.io)).toBe(0);
    const text = c.out.join('\n');
    expect(text).toContain('\nfields: native columns of kusto table DeviceFileEvents (platform sentinel)\n');
    expect(text).toMatch(/\nIndicators\n {2}Column {2,}Kind/);
    expect(text).toContain('\n  Stage 1: source (native: table)\n    DeviceFileEvents\n');
    const s = capture();
    expect(await main(['explain', SEED], s.io)).toBe(0);
    expect(s.out.join('\n')).toMatch(/\nIndicators\n {2}Field {2,}Kind/);
    expect(s.out.join('\n')).not.toContain('native columns');
  });
  it('an unknown platform or target is a usage error naming the valid ones', async () => {
    const c = capture();
    expect(await main(['explain', '--platform', 'splunk', SEED], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/unknown platform 'splunk' for target kusto; valid platforms: sentinel, defender-xdr/);
    const d = capture();
    expect(await main(['explain', '--target', 'sql', SEED], d.io)).toBe(2);
    expect(d.err.join('\n')).toMatch(/unknown target 'sql'; valid targets:/);
  });
  it('--corpus names the rules counted (default: the rule\'s folder tree); the rule itself is never counted', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rulec-explain-'));
    mkdirSync(join(root, 'a', 'sub'), { recursive: true });
    mkdirSync(join(root, 'b'));
    const file = join(root, 'a', 'r.yml');
    writeFileSync(file, rule("  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel"));
    writeFileSync(join(root, 'a', 'sub', 'r2.yml'), rule("  sel: {Image|endswith: '\\WhoAmI.exe'}\n  condition: sel").replace('11111111', '21111111'));
    writeFileSync(join(root, 'b', 'r3.yml'), rule("  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel").replace('11111111', '31111111'));
    const count = async (...args: string[]): Promise<number> => {
      const c = capture();
      expect(await main(['explain', '--json', file, ...args], c.io), c.err.join('\n')).toBe(0);
      return (JSON.parse(c.out[0]!) as Explanation).indicators[0]!.values[0]!.corpus;
    };
    expect(await count()).toBe(1);
    expect(await count('--corpus', join(root, 'b'))).toBe(1);
    expect(await count('--corpus', root)).toBe(2);
  });
  it('a missing file is a usage error; an invalid rule reports file:line:col', async () => {
    const c = capture();
    expect(await main(['explain', 'rules/no-such-rule.yml'], c.io)).toBe(2);
    expect(c.err.join('\n')).toContain('rules/no-such-rule.yml');
    const dir = mkdtempSync(join(tmpdir(), 'rulec-explain-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'title: T\nlogsource: {product: windows}\ndetection:\n  sel: {Image|endswithh: x}\n  condition: sel\n');
    const d = capture();
    expect(await main(['explain', bad], d.io)).toBe(1);
    expect(d.err.join('\n')).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: error: .*endswithh`));
  });
});
