/**
 * What the SPL target writes for the constructs the reference converter gets wrong
 * (../shared/notes/target-semantics.md section 3, S1-S7) and for each rendering decision: the
 * query text, and its verdicts on events that tell the right rendering from the wrong one.
 */
import { describe, expect, it } from 'vitest';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import { platformMapping, resolveLogSource } from '../../src/targets/spl/mapping.js';
import { parseQuery } from '../../src/targets/spl/parser.js';
import { splTarget } from '../../src/targets/spl/target.js';
import type { CompileInput } from '../../src/targets/types.js';
import { irOf, load, ruleYaml } from '../helpers/rules.js';
import { runQuery } from './interpret.js';
import { splunkEvent } from './model.js';

const mapping = loadPlatformMapping('spl', 'sysmon');
const pm = platformMapping(mapping, 'sysmon');

function compile(detection: string, extra = '') {
  const loaded = load(ruleYaml(detection, extra));
  if (!loaded.ir || loaded.rule?.kind !== 'detection') throw new Error(JSON.stringify(loaded.diagnostics));
  const input: CompileInput = { path: 'test.yml', rule: loaded.rule, ir: loaded.ir };
  const r = splTarget.compile(input, { platform: 'sysmon', format: 'query', mapping });
  if (!r.ok) throw new Error(r.error);
  const [search, ...stages] = r.query.split('\n');
  const ir = loaded.ir;
  return {
    query: r.query,
    search: search!,
    stages: stages.join('\n'),
    notes: r.notes ?? [],
    /** SPL's verdict, checked against the evaluator's. */
    on(event: Record<string, unknown>): boolean {
      const spl = runQuery(parseQuery(r.query), splunkEvent(event, pm, resolveLogSource(pm, input.rule.logsource)));
      expect(spl, `evaluator and SPL on ${JSON.stringify(event)}\n${r.query}`).toBe(compileNode(ir)(new EventView(event)));
      return spl;
    },
  };
}

describe('the search part', () => {
  it('starts with the log source prefix and writes OR groups in parentheses (S4, S5)', () => {
    const q = compile(`
sel: {Image|endswith: ['\\a.exe', '\\b.exe'], CommandLine|re: 'x+y'}
filter: {ParentImage: 'C:\\p.exe'}
condition: sel and not filter`);
    expect(q.search).toBe('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 Image IN ("*\\\\a.exe", "*\\\\b.exe") NOT ParentImage="C:\\\\p.exe"');
    expect(q.stages).toBe('| where isnotnull(mvfind(CommandLine, "x+y"))');
  });

  it('keeps case-insensitive literals with quotes and backslashes in search, escaped', () => {
    const q = compile(`sel: {CommandLine|contains: 'say "hi" \\ there'}\ncondition: sel`);
    expect(q.search).toContain('CommandLine="*say \\"hi\\" \\\\ there*"');
    expect(q.on({ CommandLine: 'x SAY "HI" \\ THERE' })).toBe(true);
  });

  it('numbers on fields the platform writes canonically are search terms; others are exact in where', () => {
    // (EventID 1: the fixture must be an event of the log source, Sysmon EventCode 1)
    const q = compile(`sel: {EventID: 1, ProcessId: 4, RegistryValueFlags: 0}\ncondition: sel`);
    expect(q.search).toContain('EventCode=1 ProcessId=4');
    expect(q.stages).toContain('mvfilter(match(RegistryValueFlags, "^-?(?:0|[1-9][0-9]*)(?:\\\\.[0-9]+)?\\\\z") AND (tonumber(RegistryValueFlags)==0))');
    expect(q.on({ EventID: 1, ProcessId: '4.0', RegistryValueFlags: '0.00' })).toBe(true);
    expect(q.on({ EventID: '1', ProcessId: 4, RegistryValueFlags: '00' })).toBe(false);
  });
});

describe('the reference converter mistakes do not appear', () => {
  it('S1: a ? wildcard is one character, never *', () => {
    const q = compile(`sel: {TargetObject|endswith: '\\Run\\Updater?'}\ncondition: sel`);
    expect(q.search).not.toContain('Updater');
    expect(q.stages).toContain('[Uu][Pp][Dd][Aa][Tt][Ee][Rr].\\\\z');
    expect(q.on({ TargetObject: 'HKU\\Run\\Updater7' })).toBe(true);
    expect(q.on({ TargetObject: 'HKU\\Run\\Updater10' })).toBe(false);
  });

  it('S2: a literal * is never a search wildcard', () => {
    const q = compile(`sel: {TargetObject|contains: 'Run\\*x'}\ncondition: sel`);
    expect(q.search).not.toContain('TargetObject');
    expect(q.on({ TargetObject: 'Run*x' })).toBe(true);
    expect(q.on({ TargetObject: 'Runaaax' })).toBe(false);
  });

  it('S3: a regex inside an OR puts the whole OR in one where (no OR split across a pipe)', () => {
    const q = compile(`
a: {Image|endswith: '\\a.exe'}
b: {CommandLine|re: 'evil'}
condition: a or b`);
    expect(q.query.split('\n')).toHaveLength(2);
    expect(q.search).toBe('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1');
    expect(q.stages).toMatch(/^\| where isnotnull\(mvfind\(Image, .*\)\) OR isnotnull\(mvfind\(CommandLine, "evil"\)\)$/);
    expect(q.on({ Image: 'C:\\a.exe' })).toBe(true);
    expect(q.on({ CommandLine: 'so evil' })).toBe(true);
  });

  it('S6: cased comparisons are case-sensitive', () => {
    const q = compile(`sel: {CommandLine|contains|cased: 'RULEC'}\ncondition: sel`);
    expect(q.stages).toBe('| where isnotnull(mvfind(CommandLine, "RULEC"))');
    expect(q.on({ CommandLine: 'x RULEC y' })).toBe(true);
    expect(q.on({ CommandLine: 'x rulec y' })).toBe(false);
  });

  it('S7: keywords are substring matches of values in _raw, never bare (token) terms', () => {
    const q = compile(`keywords: ['mimi']\ncondition: keywords`, '');
    expect(q.search).not.toMatch(/mimi/i);
    expect(q.stages).toMatch(/^\| where match\(_raw, ".*\[Mm\]\[Ii\]\[Mm\]\[Ii\]/);
    expect(q.on({ ImagePath: 'C:\\MIMIkatz.exe' })).toBe(true);
    expect(q.on({ mimikatz: 'key only' })).toBe(false);
  });

  it('K-style case folding: non-ASCII letters are spelled out, never left to search or (?i)', () => {
    const q = compile(`sel: {Image|endswith: 'É.exe'}\ncondition: sel`);
    expect(q.search).not.toContain('Image');
    expect(q.stages).toContain('[Éé]\\\\.[Ee][Xx][Ee]\\\\z');
    expect(q.stages).not.toContain('(?i)');
    expect(q.on({ Image: 'c:\\é.EXE' })).toBe(true);
  });
});

describe('two-valued logic and emptiness', () => {
  it('not F: x matches events without F; F: null matches an empty F', () => {
    const q = compile(`f: {User: SYSTEM}\ncondition: not f`);
    expect(q.search).toContain('NOT User="SYSTEM"');
    expect(q.on({})).toBe(true);
    const n = compile(`f: {User: null}\ncondition: f`);
    expect(n.search).toContain('NOT User=*');
    expect(n.on({ User: '' })).toBe(true);
  });

  it("a glob that is only * is true, also under OR and NOT (never an empty group)", () => {
    const or = compile(`a: {Image: '*'}\nb: {User: x}\ncondition: a or b`);
    expect(or.query).toBe('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1');
    const not = compile(`a: {Image: '*'}\nb: {User: x}\ncondition: b and not a`);
    expect(not.query).toBe('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 User="x"\n| where false()');
    expect(not.on({ User: 'x' })).toBe(false);
  });

  it("F: '*' matches every event, an empty F too (not F=*)", () => {
    const q = compile(`sel: {User: '*'}\ncondition: sel`);
    expect(q.search).toBe('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1');
    expect(q.on({})).toBe(true);
  });

  it('a regex that matches the empty text also matches an event without the field', () => {
    const q = compile(`sel: {User|re: '^$'}\ncondition: sel`);
    expect(q.stages).toBe('| where isnull(User) OR isnotnull(mvfind(User, "^\\\\z"))');
    expect(q.on({})).toBe(true);
    expect(q.on({ User: 'x' })).toBe(false);
  });
});

describe('notes and refusals', () => {
  it('a log source without a known Splunk source is reported', () => {
    const loaded = load(ruleYaml(`sel: {eventName: ConsoleLogin}\ncondition: sel`).replace('product: windows\n  category: process_creation', 'product: aws\n  service: cloudtrail'));
    const r = splTarget.compile({ path: 't.yml', rule: loaded.rule as never, ir: loaded.ir! }, { platform: 'sysmon', format: 'query', mapping });
    expect(r).toMatchObject({ ok: true, query: 'eventName="ConsoleLogin"', notes: [expect.stringMatching(/no Splunk source or sourcetype is known for this log source.*logsources\.aws\.search/)] });
  });

  it('keywords where the raw format is unknown are refused with the reason', () => {
    const loaded = load(ruleYaml(`keywords: ['x']\ncondition: keywords`).replace('product: windows\n  category: process_creation', 'product: linux\n  service: auditd'));
    const r = splTarget.compile({ path: 't.yml', rule: loaded.rule as never, ir: loaded.ir! }, { platform: 'sysmon', format: 'query', mapping });
    expect(r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/auditd records are key=value text/) });
  });

  it('an unknown Windows log source names the valid ones', () => {
    const loaded = load(ruleYaml(`sel: {x: y}\ncondition: sel`).replace('category: process_creation', 'category: file_access'));
    const r = splTarget.compile({ path: 't.yml', rule: loaded.rule as never, ir: loaded.ir! }, { platform: 'sysmon', format: 'query', mapping });
    expect(r).toMatchObject({ ok: false, kind: 'mapping', error: expect.stringMatching(/category: file_access\} has no mapping on SPL platform sysmon.*category process_creation.*service security/) });
  });

  it('the time-part approximation is reported', () => {
    expect(compile(`sel: {UtcTime|hour: 3}\ncondition: sel`).notes).toEqual([expect.stringMatching(/fields with one value/)]);
  });

  it('documented difference: the Kelvin sign folds to k for rulec, not for search (docs/targets/spl.md)', () => {
    const q = compile(`sel: {CommandLine|contains: 'k'}\ncondition: sel`);
    const ev = splunkEvent({ CommandLine: '\u212A' }, pm, resolveLogSource(pm, { product: 'windows', category: 'process_creation' }));
    expect(compileNode(irOf(`sel: {CommandLine|contains: 'k'}\ncondition: sel`))(new EventView({ CommandLine: '\u212A' }))).toBe(true);
    expect(runQuery(parseQuery(q.query), ev)).toBe(false);
  });
});
