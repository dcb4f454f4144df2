import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { splTarget } from '../../src/targets/spl/target.js';
import { generateModule } from '../../src/targets/ts/generator.js';
import { typeCheck } from '../../src/targets/ts/typecheck.js';
import { eqlPlatform } from '../eql/helpers.js';
import { compile as kustoCompile, inputOf, PROC, rule } from '../kusto/helpers.js';
import { loadModule } from '../ts/load.js';

/**
 * Integers beyond 2^53 keep the literal's text from the rule to every query: no target may write
 * the double they round to (12345678901234567890 -> 12345678901234567000), and a target that can
 * only compare them as a 64-bit float refuses instead.
 */
const EQ = rule(PROC, 'sel:\n  CommandLine: 12345678901234567890\ncondition: sel');
const PID_GT = rule(PROC, 'sel:\n  ProcessId|gt: 9007199254740993\ncondition: sel');
const PID_EQ_HUGE = rule(PROC, 'sel:\n  ProcessId: 12345678901234567890\ncondition: sel');

function result(r: { ok: true; query: string } | { ok: false; kind: string; error: string }): string {
  return r.ok ? r.query : `${r.kind}: ${r.error}`;
}

describe('integers beyond 2^53', { timeout: 60_000 }, () => {
  it('KQL: the exact text on long columns and in the decimal-text regex; refused past long or through todouble', () => {
    expect(result(kustoCompile(EQ))).toContain('ProcessCommandLine matches regex @"^12345678901234567890(?:\\.0+)?$"');
    expect(result(kustoCompile(PID_GT))).toContain('ProcessId > 9007199254740993');
    // Sentinel's WindowsEvent holds the text of ProcessId, which compares exactly; DeviceProcessEvents' long cannot
    expect(result(kustoCompile(PID_EQ_HUGE))).toContain('WindowsEvent\n');
    expect(result(kustoCompile(PID_EQ_HUGE, 'defender-xdr'))).toBe(
      "unsupported: windows/process_creation on defender-xdr, table DeviceProcessEvents: the integer 12345678901234567890 is beyond what a Kusto long literal holds (±9223372036854775807), so 'ProcessId' cannot be compared with it exactly",
    );
    expect(result(kustoCompile(rule(PROC, 'sel:\n  CommandLine|gt: 9007199254740993\ncondition: sel'), 'defender-xdr'))).toBe(
      "unsupported: windows/process_creation on defender-xdr, table DeviceProcessEvents: 'CommandLine' is text, which KQL compares as a number through todouble(), a 64-bit float that cannot hold the integer 9007199254740993 exactly",
    );
  });

  it('EQL: the exact text on long and keyword fields; refused past long', () => {
    const eql = eqlPlatform('ecs-windows');
    expect(result(eql.compile(inputOf(EQ)))).toContain('process.command_line regex "12345678901234567890(\\\\.0+)?"');
    expect(result(eql.compile(inputOf(PID_GT)))).toContain('process.pid > 9007199254740993');
    expect(result(eql.compile(inputOf(PID_EQ_HUGE)))).toMatch(/^unsupported: the integer 12345678901234567890 is beyond what an Elasticsearch long literal holds \(±9223372036854775807\)/);
    // the test interpreter agrees with the evaluator on the exact texts
    const ir = inputOf(EQ).ir;
    for (const CommandLine of ['12345678901234567890', '12345678901234567000', '12345678901234567890.0']) {
      const event = { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', CommandLine };
      const q = result(eql.compile(inputOf(EQ)));
      expect(eql.verdict(q, event, { product: 'windows', category: 'process_creation' })).toBe(compileNode(ir)(new EventView(event)));
    }
  });

  it('an integer beyond 2^53 that a double holds exactly (2^63) is still written as written, never as the double\'s shortest text', () => {
    const text = rule(PROC, 'sel:\n  ParentProcessId: 9223372036854775807\n  ProcessId: -9223372036854775807\ncondition: sel');
    const eql = eqlPlatform('ecs-windows');
    for (const q of [result(kustoCompile(text, 'defender-xdr')), result(eql.compile(inputOf(text)))]) {
      expect(q).toMatch(/ == 9223372036854775807\b/);
      expect(q).toMatch(/ == -9223372036854775807\b/);
      expect(q).not.toContain('9223372036854776000');
    }
    // -2^63 is the negation of 2^63 as a literal: refused
    const min = rule(PROC, 'sel:\n  ProcessId: -9223372036854775808\ncondition: sel');
    expect(result(kustoCompile(min, 'defender-xdr'))).toMatch(/^unsupported: .*the integer -9223372036854775808 is beyond what a Kusto long literal holds/);
    expect(result(eql.compile(inputOf(min)))).toMatch(/^unsupported: the integer -9223372036854775808 is beyond what an Elasticsearch long literal holds/);
  });

  it('SPL: equality compares the decimal texts; ordering is refused (Splunk numbers are doubles)', () => {
    const mapping = loadPlatformMapping('spl', 'sysmon');
    const spl = (text: string): string => result(splTarget.compile(inputOf(text), { platform: 'sysmon', format: 'query', mapping }));
    expect(spl(EQ)).toContain('isnotnull(mvfind(CommandLine, "^12345678901234567890(?:\\\\.0+)?\\\\z"))');
    expect(spl(EQ)).not.toContain('12345678901234567000');
    expect(spl(PID_GT)).toBe(
      "unsupported: 'ProcessId|gt: 9007199254740993' needs a numeric comparison, and Splunk's numbers are 64-bit floats that cannot hold the integer 9007199254740993 exactly",
    );
  });

  it('ts: a bigint literal, the evaluator verdict, and the module type-checks', () => {
    const input = inputOf(PID_GT);
    const source = generateModule(input);
    expect(source).toContain("anyNumberExact(numericValuesOf(ev.get('ProcessId')), 'gt', 9007199254740993n)");
    expect([...typeCheck(new Map([['m.ts', source]])).values()].flat()).toEqual([]);
    const mod = loadModule(source);
    const evaluator = compileNode(input.ir);
    for (const ProcessId of ['9007199254740993', '9007199254740994', 9007199254740992, '9007199254740993.5']) {
      expect(mod.match({ ProcessId }), String(ProcessId)).toBe(evaluator(new EventView({ ProcessId })));
    }
    expect(mod.match({ ProcessId: '9007199254740994' })).toBe(true);
    expect(mod.match({ ProcessId: '9007199254740993' })).toBe(false);
  });
});
