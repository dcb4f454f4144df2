import { describe, expect, it } from 'vitest';
import type { DetectionRule } from '../../src/model/types.js';
import { load } from '../helpers/rules.js';
import { eqlPlatform } from './helpers.js';

/**
 * The renderings target-semantics.md section 3 lists as wrong in the reference converter (E1-E12),
 * each with the rendering rulec emits instead. The equivalence, property and differential tests
 * prove these match the evaluator; this file pins what they look like.
 */
const win = eqlPlatform('ecs-windows');
const raw = eqlPlatform('raw');

function query(detection: string, p = win, logsource = '{product: windows, category: process_creation}'): string {
  const text = `title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource: ${logsource}\ndetection:\n${detection}\n`;
  const loaded = load(text);
  if (!loaded.ir) throw new Error(loaded.diagnostics.map((d) => d.message).join('; '));
  const r = p.compile({ path: 't.yml', rule: loaded.rule as DetectionRule, ir: loaded.ir });
  if (!r.ok) return `ERROR ${r.error}`;
  return r.query.replace(/^process where winlog\.channel == "Microsoft-Windows-Sysmon\/Operational" and event\.code == "1" and /, '').replace(/^any where Channel == "Microsoft-Windows-Sysmon\/Operational" and EventID == 1 and /, '');
}

describe('EQL renderings (section 3 of target-semantics.md)', () => {
  it('E1/E2/E3: re is case-sensitive unless re|i, escaped for the EQL string, anchored by .* unless ^/$', () => {
    expect(query("  sel: {CommandLine|re: 'foo\"bar/baz'}\n  condition: sel")).toBe('process.command_line regex ".*foo\\\\\\"bar/baz.*"');
    expect(query("  sel: {CommandLine|re|i: '^cmd\\.exe'}\n  condition: sel")).toBe('process.command_line regex~ "cmd\\\\.exe.*"');
    expect(query("  sel: {CommandLine|re: '(?i)x$'}\n  condition: sel")).toBe('process.command_line regex~ ".*x"');
  });

  it('U+0001 (the escape character of the LIKE pattern Elasticsearch makes of `:` / `like`) never goes into a wildcard pattern', () => {
    expect(query('  sel: {CommandLine: "a\\x01b"}\n  condition: sel')).toBe('process.command_line in~ ("a\\u{01}b")');
    expect(query('  sel: {CommandLine|contains: "a\\x01b"}\n  condition: sel')).toBe('stringContains~(process.command_line, "a\\u{01}b")');
    expect(query('  sel: {CommandLine|cased|endswith: "a\\x01"}\n  condition: sel')).toBe('endsWith(process.command_line, "a\\u{01}")');
    // UTF-16LE of U+0151 is the bytes 0x51 0x01.
    expect(query("  sel: {CommandLine|wide|contains: 'ő'}\n  condition: sel")).toBe('stringContains~(process.command_line, "Q\\u{01}")');
    expect(query('  sel: {CommandLine: "a\\x01*b"}\n  condition: sel')).toBe('process.command_line regex~ "a\\u{01}.*b"');
    expect(query('  sel: {CommandLine|contains: ["x", "a\\x01"]}\n  condition: sel')).toBe('(process.command_line : "*x*" or stringContains~(process.command_line, "a\\u{01}"))');
  });

  it('E4: cased contains is like with wildcards, not ==', () => {
    expect(query("  sel: {CommandLine|contains|cased: 'RULEC'}\n  condition: sel")).toBe('process.command_line like "*RULEC*"');
    expect(query("  sel: {CommandLine|cased: 'RULEC'}\n  condition: sel")).toBe('process.command_line == "RULEC"');
  });

  it('E5: a literal * or ? goes to a function or in~, never to an invalid \\* escape', () => {
    expect(query("  sel: {TargetObject|contains: '\\Run\\*'}\n  condition: sel", win, '{product: windows, category: registry_set}')).toBe(
      'registry where winlog.channel == "Microsoft-Windows-Sysmon/Operational" and event.code == "13" and stringContains~(registry.path, "\\\\Run*")',
    );
    expect(query("  sel: {CommandLine: 'a\\?b'}\n  condition: sel")).toBe('process.command_line in~ ("a?b")');
    expect(query("  sel: {CommandLine|startswith|cased: 'a\\*'}\n  condition: sel")).toBe('startsWith(process.command_line, "a*")');
  });

  it('E6/E11 and fieldref: refused with the reason', () => {
    expect(query("  keywords: ['mimikatz']\n  condition: keywords")).toMatch(/^ERROR a keyword \(field-less\) search is not expressible/);
    expect(query("  sel: {UtcTime|hour: 3}\n  condition: sel")).toMatch(/^ERROR 'UtcTime\|hour' compares a part of a timestamp/);
    expect(query("  sel: {User|fieldref: ParentUser}\n  condition: sel")).toMatch(/^ERROR 'User\|fieldref: ParentUser' compares two fields/);
  });

  it('E7: numbers compare with ==, never :', () => {
    expect(query("  sel: {ProcessId: 4}\n  condition: sel")).toBe('process.pid == 4');
    expect(query("  sel: {ProcessId|gt: 4}\n  condition: sel")).toBe('process.pid > 4');
    expect(query("  sel: {EventID: 4688}\n  condition: sel")).toBe('event.code == "4688"');
    expect(query("  sel: {TerminalSessionId: 1}\n  condition: sel")).toBe('?winlog.event_data.TerminalSessionId regex "1(\\\\.0+)?"');
    expect(query("  sel: {EventID: [4688, 1]}\n  condition: sel", raw)).toBe('EventID in (4688, 1)');
  });

  it('E8: odd field names are backquoted', () => {
    expect(query("  sel: {cs-uri-query|contains: 'x'}\n  condition: sel", raw, '{category: proxy}')).toBe('any where `cs-uri-query` : "*x*"');
  });

  it('E9: TAB, LF, CR and other controls are escapes', () => {
    expect(query('  sel: {CommandLine: "a\\tb\\nc\\rd\\u0002"}\n  condition: sel')).toBe('process.command_line : "a\\tb\\nc\\rd\\u{02}"');
  });

  it('E10: exists and null', () => {
    expect(query("  sel: {CommandLine|exists: true}\n  condition: sel")).toBe('?process.command_line != null and process.command_line : "?*"');
    expect(query("  sel: {CommandLine: null}\n  condition: sel")).toBe('(?process.command_line == null or not process.command_line : "?*")');
    expect(query("  sel: {ProcessId|exists: false}\n  condition: sel")).toBe('?process.pid == null');
  });

  it('two-valued not: a negated leaf holds for an event without the field', () => {
    expect(query("  sel: {Image|endswith: '.exe'}\n  filter: {User: SYSTEM}\n  condition: sel and not filter")).toBe(
      'process.executable : "*.exe" and not (?winlog.event_data.User != null and winlog.event_data.User : "SYSTEM")',
    );
  });

  it('cidr on ip fields, prefixes of whole octets as networks, translated values', () => {
    const net = '{product: windows, category: network_connection}';
    const head = 'network where winlog.channel == "Microsoft-Windows-Sysmon/Operational" and event.code == "3" and ';
    expect(query("  sel: {DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']}\n  condition: sel", win, net)).toBe(`${head}cidrMatch(destination.ip, "10.0.0.0/8", "fe80::/10")`);
    expect(query("  sel: {DestinationIp|startswith: '192.168.'}\n  condition: sel", win, net)).toBe(`${head}cidrMatch(destination.ip, "192.168.0.0/16")`);
    expect(query("  sel: {Initiated: 'true'}\n  condition: sel", win, net)).toBe(`${head}network.direction == "egress"`);
    expect(query("  sel: {DestinationIp|cidr: '10.0.0.0/8'}\n  condition: sel", raw, net)).toMatch(/DestinationIp regex "10\\\\\.\(/);
  });
});

describe('field paths with an array index', () => {
  it('a field with an [N] step is refused on raw (identity) documents: Elasticsearch flattens arrays of objects, the evaluator reads element N', () => {
    expect(query("  sel: {'TargetResources[0].displayName|contains': 'admin'}\n  condition: sel", raw)).toMatch(/^ERROR field 'TargetResources\[0\]\.displayName' reads one element of an array/);
    // A bracket that is no index step stays a name.
    expect(query("  sel: {'a[x].b': 'v'}\n  condition: sel", raw)).not.toMatch(/^ERROR/);
  });
});
