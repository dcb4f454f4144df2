import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection, loadText } from '../../src/collection/load.js';
import { Engine, type IrRule } from '../../src/eval/engine.js';
import type { Node } from '../../src/ir/types.js';
import type { LogSource } from '../../src/model/types.js';
import { fold } from '../../src/runtime/fold.js';
import { PROPERTY_RUNS } from '../harness/property.js';
import { irEvent, irTree } from '../helpers/ir-arbitrary.js';
import { referenceMatch } from '../helpers/reference-eval.js';
import { SIGMAHQ } from '../helpers/corpus.js';

const REGRESSION = new URL('../../../shared/sigmahq/regression/', import.meta.url);

function detections(engine: Engine, events: readonly Record<string, unknown>[]): string[] {
  const out: string[] = [];
  events.forEach((ev, i) => engine.evaluate(ev, (r) => out.push(`${i}:${r.index}`)));
  return out;
}

/** The regression samples, plus variants: flattened, moved to Security 4688, and stripped of their channel. */
function regressionEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const f of readdirSync(REGRESSION).filter((x) => x.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(new URL(f, REGRESSION), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const ev = JSON.parse(line) as { Event: { System: Record<string, unknown>; EventData: Record<string, unknown> } };
      out.push(ev);
      const flat = { ...ev.Event.EventData, EventID: ev.Event.System.EventID, Channel: ev.Event.System.Channel };
      if (flat.EventID === 1) {
        const { Image, ParentImage, ...rest } = flat as Record<string, unknown>;
        out.push({ ...rest, Channel: 'Security', EventID: 4688, NewProcessName: Image, ParentProcessName: ParentImage });
      }
      out.push({ ...ev.Event.EventData });
    }
  }
  return out;
}

describe.skipIf(!existsSync(SIGMAHQ) || !existsSync(REGRESSION))('the witness index on the SigmaHQ corpus', () => {
  const { rules } = loadCollection([SIGMAHQ]);
  const indexed = Engine.fromLoaded(rules);
  const plain = Engine.fromLoaded(rules, { index: false });

  it('compiles every one of the 3,141 rules', () => {
    expect(indexed.problems).toEqual([]);
    expect(indexed.engine.rules).toHaveLength(3141);
  });

  it('gives exactly the detections of evaluating every routed rule', () => {
    const events = regressionEvents();
    const a = detections(indexed.engine, events);
    expect(a.length).toBeGreaterThan(300);
    expect(a).toEqual(detections(plain.engine, events));
  }, 120_000);
});

const LOGSOURCES: LogSource[] = [
  {},
  { product: 'windows', category: 'process_creation' },
  { product: 'windows', service: 'security' },
  { product: 'windows', category: 'registry_delete' },
  { product: 'windows' },
  { product: 'linux', category: 'process_creation' },
  { product: 'windows', category: 'file_access' },
];

const ORIGINS: Record<string, unknown>[] = [
  {},
  { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1 },
  { Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 12, EventType: 'DeleteKey' },
  { Channel: 'Security', EventID: 4688 },
  { Channel: 'Security', EventID: '4624' },
  { Provider_Name: 'Microsoft-Windows-Sysmon', EventID: [1, 2] },
  { EventID: 4624 },
];

const ruleArb = fc.record({
  ir: fc.oneof(
    { weight: 4, arbitrary: irTree },
    { weight: 1, arbitrary: irTree.map((ir): Node => ({ kind: 'and', children: [{ kind: 'num', field: 'EventID', op: 'eq', value: 4624 }, ir] })) },
  ),
  logsource: fc.constantFrom(...LOGSOURCES),
});
const eventArb = fc.tuple(irEvent, fc.constantFrom(...ORIGINS)).map(([ev, origin]) => ({ ...ev, ...origin }));

/** The engine detects with its witness index exactly what it detects evaluating every routed rule. */
function expectIndexChangesNothing(rules: IrRule[], events: Record<string, unknown>[]): void {
  expect(detections(Engine.fromIr(rules), events)).toEqual(detections(Engine.fromIr(rules, { index: false }), events));
}

describe('the witness index', () => {
  it('never changes a detection (random rules and events)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 6 }), fc.array(eventArb, { minLength: 1, maxLength: 6 }), expectIndexChangesNothing),
      { numRuns: PROPERTY_RUNS },
    );
  }, 600_000);

  it('finds long any-field literals in unnamed fields, numbers and booleans included', () => {
    // Keyword literals of 4 and more units make the index skip through unnamed fields, and
    // literals made of number characters make it scan numbers: both must find what evaluating
    // every rule finds.
    const units = ['a', 'B', 'e', 'E', '1', '0', '-', '.', '+', ':', '\\', 'é', 't', 'r', 'u'];
    const token = fc.array(fc.constantFrom(...units), { minLength: 4, maxLength: 6 }).map((a) => a.join(''));
    const literal = fc.oneof(token, fc.constantFrom('1e+21', '-10.5', '1010', 'true', 'fals', 'alse'));
    const keyword = fc.record({ kind: fc.constant('keyword' as const), pattern: literal.map((t) => [t]), case: fc.constantFrom<'ci' | 'cs'>('ci', 'cs') });
    const named = fc.record({ kind: fc.constant('str' as const), field: fc.constant('F'), op: fc.constant('contains' as const), value: token, case: fc.constant('ci' as const) });
    const ir: fc.Arbitrary<Node> = fc.oneof(keyword, fc.tuple(keyword, named).map(([k, s]): Node => ({ kind: 'and', children: [k, s] })));
    const text = fc.array(fc.oneof(fc.constantFrom(...units), literal), { maxLength: 8 }).map((a) => a.join(''));
    const scalar = fc.oneof(text, fc.constantFrom<unknown>(1e21, -10.5, 1010, 0.101, 12345678, true, false, null));
    const event = fc.record({ F: text, X: scalar, N: scalar, L: fc.array(scalar, { maxLength: 3 }) }, { requiredKeys: ['X', 'N'] });
    fc.assert(
      fc.property(fc.array(ir.map((x) => ({ ir: x })), { minLength: 1, maxLength: 4 }), fc.array(event, { minLength: 1, maxLength: 6 }), expectIndexChangesNothing),
      { numRuns: PROPERTY_RUNS },
    );
  }, 600_000);

  it('takes a list of 150,000 literals (no argument spreading of that size)', () => {
    const children: Node[] = Array.from({ length: 150_000 }, (_, i) => ({ kind: 'str', field: 'Hashes', op: 'contains', value: `h${i.toString(36).padStart(8, '0')}`, case: 'ci' }));
    // Nested in groups, as lists in a large rule set would be, and as one `or`.
    const grouped: Node = { kind: 'or', children: Array.from({ length: 150 }, (_, g) => ({ kind: 'or', children: children.slice(g * 1000, (g + 1) * 1000) })) };
    for (const ir of [grouped, { kind: 'or', children } as Node]) {
      const events = [{ Hashes: 'x H000000ZZ y' }, { Hashes: 'nothing' }];
      expect(detections(Engine.fromIr([{ ir }]), events)).toEqual(['0:0']);
      expect(detections(Engine.fromIr([{ ir }], { index: false }), events)).toEqual(['0:0']);
    }
  }, 60_000);

  it('with routing off, detects exactly what the reference interpreter matches', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), fc.array(irEvent, { minLength: 1, maxLength: 4 }), (rules, events) => {
        const e = Engine.fromIr(rules, { routing: false });
        const expected: string[] = [];
        events.forEach((ev, i) => rules.forEach((r, j) => referenceMatch(r.ir, ev) && expected.push(`${i}:${j}`)));
        expect(detections(e, events)).toEqual(expected);
      }),
      { numRuns: Math.ceil(PROPERTY_RUNS / 5) },
    );
  }, 600_000);

  it('relies on folding keeping the number of code units of every code point', () => {
    // witness.ts: the fold of a text containing a literal contains the literal's fold, unit for unit
    const changed: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const f = fold(ch);
      if (f.length !== ch.length || (cp >= 0x80 && f.charCodeAt(0) < 0x80 && ch.length !== 1)) changed.push(cp.toString(16));
    }
    expect(changed).toEqual([]);
  }, 60_000);

  it('delivers detections in rule order with the event as rules saw it', () => {
    const e = Engine.fromIr([
      { ir: { kind: 'str', field: 'Image', op: 'suffix', value: '\\cmd.exe', case: 'ci' }, logsource: { product: 'windows', category: 'process_creation' }, title: 'a' },
      { ir: { kind: 'const', value: true }, title: 'b' },
    ]);
    const seen: string[] = [];
    e.evaluate({ Event: { System: { Channel: 'Security', EventID: 4688 }, EventData: { NewProcessName: 'C:\\CMD.EXE' } } }, (rule, view) => {
      seen.push(`${rule.title}:${String(view.get('Image'))}:${String(view.get('Channel'))}:${String(view.raw.Image)}`);
    });
    expect(seen).toEqual(['a:C:\\CMD.EXE:Security:C:\\CMD.EXE', 'b:C:\\CMD.EXE:Security:C:\\CMD.EXE']);
  });

  it('events without a channel: every rule by default, only rules without a log source with unknownOrigin unconstrained', () => {
    const rules: IrRule[] = [
      { ir: { kind: 'const', value: true }, logsource: { product: 'zeek', service: 'http' }, title: 'zeek' },
      { ir: { kind: 'const', value: true }, logsource: { product: 'windows', category: 'ps_script' }, title: 'ps' },
      { ir: { kind: 'const', value: true }, title: 'any' },
    ];
    const titles = (e: Engine, ev: Record<string, unknown>): string[] => {
      const seen: string[] = [];
      e.evaluate(ev, (r) => seen.push(r.title));
      return seen;
    };
    const flat = { ScriptBlockText: 'Invoke-Mimikatz' };
    expect(titles(Engine.fromIr(rules), flat)).toEqual(['zeek', 'ps', 'any']);
    const scan = Engine.fromIr(rules, { unknownOrigin: 'unconstrained' });
    expect(titles(scan, flat)).toEqual(['any']);
    expect(scan.eventsWithoutOrigin).toBe(1);
    // An event that carries its channel is routed as always.
    expect(titles(scan, { Channel: 'Microsoft-Windows-PowerShell/Operational', EventID: 4104, ScriptBlockText: 'x' })).toEqual(['ps', 'any']);
    expect(scan.eventsWithoutOrigin).toBe(1);
  });

  it('refuses to evaluate from inside its own sink (shared scratch buffers)', () => {
    const e = Engine.fromIr([{ ir: { kind: 'const', value: true } }]);
    expect(() => e.evaluate({}, () => e.evaluate({}, () => {}))).toThrow('Engine.evaluate was called from its own sink');
    expect(e.matches({})).toHaveLength(1);
  });
});

describe('Engine.fromLoaded', () => {
  it('tells how many rules it compiled so far, of how many (a progress bar)', () => {
    const { rules } = loadCollection([new URL('../../rules', import.meta.url).pathname]);
    const calls: [number, number][] = [];
    const { engine, problems } = Engine.fromLoaded(rules, {}, (done, total) => calls.push([done, total]));
    const total = engine.rules.length + problems.length;
    expect(total).toBeGreaterThan(5);
    expect(calls).toEqual(Array.from({ length: total }, (_, i) => [i, total]));
  });
});

describe('compiling on first use', () => {
  // Three Windows process-creation rules, the middle one with a regex the loader takes but the
  // linear-time engine refuses (too many states once its repetitions are expanded).
  const rule = (title: string, detection: string): string =>
    `title: ${title}\nlogsource: {product: windows, category: process_creation}\ndetection: {s: ${detection}, condition: s}\n`;
  const loaded = loadText(
    'lazy.yml',
    [rule('First', "{Image|endswith: '\\a.exe'}"), rule('Refused', "{CommandLine|re: '(a{1000}){1000}'}"), rule('Last', "{Image|endswith: '\\b.exe'}")].join('---\n'),
  );
  const sysmon = (fields: Record<string, unknown>) => ({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, ...fields });

  it('still reports a rule that cannot compile before any event, and numbers the others without it', () => {
    const { engine, problems } = Engine.fromLoaded(loaded);
    expect(problems.map((p) => [p.title, p.line, p.message])).toEqual([['Refused', 5, expect.stringContaining('too large for the linear-time engine')]]);
    expect(engine.rules.map((r) => [r.index, r.title])).toEqual([[0, 'First'], [1, 'Last']]);
    expect(engine.matches(sysmon({ Image: 'C:\\b.exe', CommandLine: 'xy' })).map((r) => r.title)).toEqual(['Last']);
  });

  it('unchecked (check: false), keeps every rule and compiles one only when an event needs it', () => {
    const { engine, problems } = Engine.fromLoaded(loaded, { check: false });
    expect(problems).toEqual([]);
    expect(engine.rules.map((r) => r.title)).toEqual(['First', 'Refused', 'Last']);
    // Not routed (another log source), or not a candidate (its witness, a run of a, is not in the
    // event): not compiled. A candidate: compiled, which throws.
    const long = 'a'.repeat(2000);
    expect(engine.matches({ Channel: 'Security', EventID: 4624, CommandLine: long })).toEqual([]);
    expect(engine.matches(sysmon({ Image: 'C:\\a.exe', CommandLine: 'xy' })).map((r) => r.title)).toEqual(['First']);
    expect(() => engine.matches(sysmon({ Image: 'C:\\a.exe', CommandLine: long }))).toThrow(/too large/);
  });

  it('shares what a rule compiled to with its renumbered copies (withIndex)', () => {
    const { engine } = Engine.fromLoaded(loaded);
    const last = engine.rules[1]!;
    const copy = last.withIndex(0);
    expect(copy.index).toBe(0);
    expect(copy.match).toBe(last.match);
    expect(copy.witness).toBe(last.witness);
  });
});
