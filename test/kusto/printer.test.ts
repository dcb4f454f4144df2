import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import { kustoBackend } from './backend.js';
import { compileKql } from './interpreter.js';
import { compile, inputOf, kql, PROC, rule } from './helpers.js';

/**
 * The rendering of each primitive, and none of the reference converter's wrong renderings
 * (target-semantics.md section 3: K1-K11). Exactness itself is proven by the equivalence and
 * property tests; these pin the shapes a reader of the query relies on.
 */
describe('KQL rendering of the IR primitives', { timeout: 60_000 }, () => {
  it('K1/K2: globs are anchored, case-insensitive regexes with ? as one character', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine: 'foo*bar?'\ncondition: sel"));
    expect(q).toContain('ProcessCommandLine matches regex @"(?is)^foo.*bar.$"');
    expect(kql(rule(PROC, "sel:\n  CommandLine|cased: 'a*b'\ncondition: sel"))).toContain('@"(?s)^a.*b$"');
  });

  it('a literal * or ? stays literal (escaped for RE2 in a glob, plain in contains)', () => {
    expect(kql(rule(PROC, "sel:\n  CommandLine: 'a\\*b*'\ncondition: sel"))).toContain('ProcessCommandLine startswith "a*b"');
    expect(kql(rule(PROC, "sel:\n  CommandLine: 'a\\*b?'\ncondition: sel"))).toContain('@"(?is)^a\\*b.$"');
  });

  it('has renders as KQL term operators: has, has_cs, has_any, has_all, !has, a named has_any list; ß through a bounded regex', () => {
    expect(kql(rule(PROC, "sel:\n  CommandLine|has: 'cmd.exe'\ncondition: sel"))).toContain('ProcessCommandLine has "cmd.exe"');
    expect(kql(rule(PROC, "sel:\n  CommandLine|has|cased: 'Cmd'\ncondition: sel"))).toContain('ProcessCommandLine has_cs "Cmd"');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|has: [a, b]\ncondition: sel'))).toContain('ProcessCommandLine has_any ("a", "b")');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|has|all: [a, b]\ncondition: sel'))).toContain('ProcessCommandLine has_all ("a", "b")');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|has|cased: [a, b]\ncondition: sel'))).toContain('ProcessCommandLine has_cs "a" or ProcessCommandLine has_cs "b"');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|has: a\ncondition: not sel'))).toContain('ProcessCommandLine !has "a"');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|has|cased: a\ncondition: not sel'))).toContain('ProcessCommandLine !has_cs "a"');
    const q = kql(rule(PROC, "sel:\n  CommandLine|has|expand: '%ext%'\ncondition: sel", 'parameters:\n  ext:\n    values: [exe, dll]\n'));
    expect(q).toContain('let ext = dynamic(["exe", "dll"]);');
    expect(q).toContain('ProcessCommandLine has_any (ext)');
    expect(kql(rule(PROC, "sel:\n  CommandLine|has: 'straße'\ncondition: sel"))).toContain('ProcessCommandLine matches regex @"(?is)(?:^|[^A-Za-z0-9])straße(?:[^A-Za-z0-9]|$)"');
    expect(kql(rule(PROC, "sel:\n  CommandLine|has: '.ßa'\ncondition: sel"))).toContain('matches regex @"(?is)\\.ßa(?:[^A-Za-z0-9]|$)"');
  });

  it('K3: IPv6 networks use the IPv6 functions, IPv4 networks the IPv4 ones, each behind an address-syntax guard', () => {
    const q = kql(rule('{product: windows, category: network_connection}', "sel:\n  DestinationIp|cidr: ['fe80::/10', '10.0.0.0/8', '192.168.0.0/16']\ncondition: sel"));
    expect(q).toMatch(/ipv6_is_in_range\(extract\(@"\^\[\^%\]\*", 0, RemoteIP\), "fe80::\/10"\)/);
    expect(q).toContain('ipv4_is_in_any_range(RemoteIP, "10.0.0.0/8", "192.168.0.0/16")');
    expect(q).not.toMatch(/ipv4_is_in_range\([^)]*fe80/);
  });

  it('K4: empty on a string column is isempty, not isnull; typed columns use isnull', () => {
    expect(kql(rule(PROC, 'sel:\n  CommandLine: null\ncondition: sel'))).toContain('isempty(ProcessCommandLine)');
    expect(kql(rule(PROC, 'sel:\n  ProcessId|exists: true\ncondition: sel'))).toContain('isnotnull(ProcessId)');
  });

  it('K5: keywords search the declared keyword columns, never `where *`; without them the rule is refused', () => {
    const q = kql(rule('{product: linux}', "keywords:\n  - 'mimikatz'\n  - 'sekurlsa::*'\ncondition: keywords"));
    expect(q).toContain('SyslogMessage contains "mimikatz"');
    expect(q).not.toContain('*');
    const r = compile(rule('{product: aws, service: cloudtrail}', "keywords:\n  - 'mimikatz'\ncondition: keywords"));
    expect(r).toMatchObject({ ok: false, kind: 'unsupported' });
    expect(!r.ok && r.error).toMatch(/keyword search .*declares no columns.*where \*/);
  });

  it('keywords over a dynamic bag count its values one by one (the JSON text would hold keys)', () => {
    const q = kql(rule('{product: windows, service: system}', "keywords:\n  - 'mimikatz'\ncondition: not keywords"));
    expect(q).toContain('| mv-apply _key = array_concat(coalesce(bag_keys(EventData), dynamic([])), dynamic([""])) to typeof(string) on (\n    summarize _kw1 = countif(tostring(EventData[_key]) contains "mimikatz"))');
    expect(q).toContain('| where not(Computer contains "mimikatz" or Channel contains "mimikatz" or Provider contains "mimikatz" or tostring(EventID) contains "mimikatz" or _kw1 > 0)');
  });

  it('K6: |all is an and of substring tests, never has_all', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine|contains|all: ['a b', 'c']\ncondition: sel"));
    expect(q).toContain('| where ProcessCommandLine contains "a b"\n| where ProcessCommandLine contains "c"');
    expect(q).not.toContain('has');
  });

  it('K7: booleans compare with == on bool columns', () => {
    const q = kql(rule('{product: azure, service: signinlogs}', 'sel:\n  IsInteractive: false\ncondition: sel'));
    expect(q).toContain('IsInteractive == false');
    expect(q).not.toContain('=~ false');
  });

  it('K8: names that are not identifiers are quoted, never written as string literals', () => {
    const q = kql(rule('{product: windows, service: system}', "sel:\n  Foo-Bar: x\ncondition: sel"));
    expect(q).toContain(`| extend Foo_Bar = tostring(EventData["Foo-Bar"])\n| where Foo_Bar =~ "x"`);
    expect(q).not.toContain(`'Foo-Bar'`);
  });

  it('K9: cased values and field references', () => {
    expect(kql(rule(PROC, "sel:\n  CommandLine|cased: ABC\ncondition: sel"))).toContain('ProcessCommandLine == "ABC"');
    expect(kql(rule(PROC, "sel:\n  CommandLine|contains|cased: ABC\ncondition: sel"))).toContain('ProcessCommandLine contains_cs "ABC"');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|fieldref|endswith: ParentCommandLine\ncondition: sel'))).toContain(
      'ProcessCommandLine endswith InitiatingProcessCommandLine',
    );
  });

  it('K10: an event-log log source carries its channel and event id', () => {
    const q = kql(rule('{product: windows, category: pipe_created}', "sel:\n  PipeName: '\\\\x'\ncondition: sel"));
    expect(q).toContain('| where Channel == "Microsoft-Windows-Sysmon/Operational" and EventID in (17, 18)');
  });

  it('K11: values are mapped, not only names (Initiated as Defender action types)', () => {
    const q = kql(rule('{product: windows, category: network_connection}', 'sel:\n  Initiated: true\n  DestinationPort: 443\ncondition: sel'));
    expect(q).toContain('ActionType in ("ConnectionSuccess", "ConnectionFailed", "ConnectionAttempt", "ConnectionRequest")');
    expect(q).toContain('RemotePort == 443');
  });

  it('numbers on text follow the decimal-text rule; on number columns they compare directly', () => {
    const q = kql(rule('{product: windows, service: system}', 'sel:\n  Code: 4688\n  Size|gt: 5\ncondition: sel'));
    expect(q).toContain('Code matches regex @"^4688(?:\\.0+)?$"');
    expect(q).toContain('Size matches regex @"^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$" and todouble(Size) > 5');
    expect(kql(rule('{product: windows, service: system}', 'sel:\n  EventID: 7045\ncondition: sel'))).toContain('EventID == 7045');
  });

  it('a not over a nullable comparison keeps the logic two-valued', () => {
    const q = kql(rule('{product: windows, category: network_connection}', 'sel:\n  DestinationPort|gt: 1024\ncondition: not sel'));
    expect(q).toContain('not(coalesce(RemotePort > 1024, false))');
    expect(kql(rule('{product: windows, category: network_connection}', 'sel:\n  DestinationPort: 80\ncondition: not sel'))).toContain('not(RemotePort == 80)');
  });

  it('time parts on a datetime column; on text they are refused with the reason', () => {
    expect(kql(rule(PROC, 'sel:\n  UtcTime|hour|gte: 22\ncondition: sel'))).toContain('hourofday(TimeGenerated) >= 22');
    expect(kql(rule(PROC, 'sel:\n  UtcTime|week: 1\ncondition: sel'), 'defender-xdr')).toContain('week_of_year(Timestamp) == 1');
    const r = compile(rule('{product: windows, service: system}', 'sel:\n  UtcTime|hour: 3\ncondition: sel'));
    expect(!r.ok && r.error).toMatch(/\|hour on field 'UtcTime' needs a datetime column; it is text here/);
  });

  it('control characters and NUL go through a regex, never into a literal', () => {
    const q = kql(rule(PROC, 'sel:\n  CommandLine|contains: "a\\x00b\\rc"\ncondition: sel'));
    expect(q).toContain('ProcessCommandLine matches regex @"(?is)a\\x{00}b\\x{0D}c"');
    expect(kql(rule(PROC, 'sel:\n  CommandLine|contains: "tab\\there"\ncondition: sel'))).toContain('ProcessCommandLine contains "tab\\there"');
  });

  it('strings: quotes and backslashes in both literal forms', () => {
    expect(kql(rule(PROC, `sel:\n  CommandLine|contains: 'say "hi"'\ncondition: sel`))).toContain('ProcessCommandLine contains "say \\"hi\\""');
    expect(kql(rule(PROC, `sel:\n  CommandLine|contains: 'C:\\Temp\\"x"'\ncondition: sel`))).toContain('ProcessCommandLine contains @"C:\\Temp\\""x"""');
  });

  it('a path suffix \\name becomes the file-name column; siblings become an in~ list', () => {
    const q = kql(rule(PROC, "sel:\n  Image|endswith: ['\\cmd.exe', '\\pwsh.exe']\n  ParentImage|endswith: '\\a\\b.exe'\ncondition: sel"));
    expect(q).toContain('FileName in~ ("cmd.exe", "pwsh.exe")');
    expect(q).toContain('InitiatingProcessFolderPath endswith @"\\a\\b.exe"');
  });

  it('where only a file name is stored, other tests are refused naming the field and the column', () => {
    const r = compile(rule('{product: windows, category: file_event}', "sel:\n  ParentImage|contains: 'Temp'\ncondition: sel"), 'defender-xdr');
    expect(!r.ok && r.error).toMatch(/field 'ParentImage': only its file name is stored here \(InitiatingProcessParentFileName\)/);
  });

  it('regexes are rewritten for RE2 (\\s, ., capture groups) or refused with the reason', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine|re: 'a\\s+(b|c).d'\ncondition: sel"));
    expect(q).toContain('(?:b|c)');
    expect(q).toContain('\\x{A0}');
    expect(q).toContain('[^\\n\\r\\x{2028}\\x{2029}]d');
    // Lookaround never reaches a backend: the rule is refused when it loads (RE2 has none, and the
    // evaluator matches in linear time); re2.test.ts checks the backend's own refusal.
    expect(() => compile(rule(PROC, "sel:\n  CommandLine|re: 'a(?=b)'\ncondition: sel"))).toThrow(/lookahead and lookbehind are not supported/);
  });
});

describe('parameters as named lists', () => {
  const params = (values: string) => `parameters:\n  exts:\n    description: Some extensions\n    values: ${values}\n`;

  it('extension suffixes: the exact extract(...) in~ form on the file-name column', () => {
    const q = kql(rule('{product: windows, category: file_event}', "sel:\n  TargetFilename|endswith|expand: '%exts%'\ncondition: sel", params("['.exe', '.dll']")));
    expect(q).toContain('// Some extensions\nlet exts = dynamic([".exe", ".dll"]);');
    expect(q).toContain('extract(@"(\\.[^.]*)$", 1, FileName) in~ (exts)');
  });

  it('a parameter name that is not an identifier gives a plain let name', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine|expand: '%my-list.v2%'\ncondition: sel", `parameters:\n  my-list.v2: ['a', 'b']\n`));
    expect(q).toContain('let my_list_v2 = dynamic(["a", "b"]);');
    expect(q).toContain('ProcessCommandLine in~ (my_list_v2)');
  });

  it('equalities: F in~ (name)', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine|expand: '%exts%'\ncondition: sel", params("['a', 'b']")));
    expect(q).toContain('ProcessCommandLine in~ (exts)');
  });

  it('no exact list form (contains, or a suffix with two dots): the expansion, and the list still declared', () => {
    const q = kql(rule(PROC, "sel:\n  CommandLine|contains|expand: '%exts%'\ncondition: sel", params("['.tar.gz', 'x']")));
    expect(q).toContain('let exts = dynamic([".tar.gz", "x"]);');
    expect(q).toContain('ProcessCommandLine contains ".tar.gz" or ProcessCommandLine contains "x"');
    expect(q).not.toContain('has_any');
  });
});

describe('case folding of ß and ẞ (docs/targets/kusto.md "Case folding")', { timeout: 60_000 }, () => {
  it('a case-insensitive value holding ß or ẞ is an (?is) regex, and matches what the evaluator matches', () => {
    const backend = kustoBackend('sentinel');
    const cases: [string, string][] = [
      ["CommandLine|contains: 'straße'", 'CommandLine matches regex @"(?is)straße"'],
      ["CommandLine: 'STRAẞE'", 'CommandLine matches regex @"(?is)^STRAẞE$"'],
      ["CommandLine|startswith: ['ß', 'x']", 'CommandLine matches regex @"(?is)^ß"'],
    ];
    for (const [item, expected] of cases) {
      const text = rule(PROC, `sel:\n  ${item}\ncondition: sel`);
      const q = kql(text);
      expect(q).toContain(expected);
      expect(q).not.toMatch(/(=~|contains|startswith) "[^"]*[ßẞ]/);
      const input = inputOf(text);
      const evaluator = compileNode(input.ir);
      for (const CommandLine of ['STRAẞE', 'straße', 'STRASSE', 'ẞ x', 'ß', 'ss']) {
        const event = { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', CommandLine };
        const fixture = { source: 'inline', logsource: input.rule.logsource, note: '', event };
        expect(backend.verdict(q, fixture, input), `${item} on ${CommandLine}`).toBe(evaluator(new EventView(event)));
      }
    }
    // cased values keep the _cs operators: ordinal comparison is exact
    expect(kql(rule(PROC, "sel:\n  CommandLine|contains|cased: 'straße'\ncondition: sel"))).toContain('CommandLine contains_cs "straße"');
  });
});

describe('the test interpreter reads has as Microsoft documents it', () => {
  const run = (pred: string, value: string): boolean => compileKql(`T | where A ${pred}`).run({ A: value }, 0);
  it('the examples of Learn "has operator" and "String operators", and phrases', () => {
    expect(run('has "america"', 'North America')).toBe(true);
    expect(run('!has "amer"', 'North America')).toBe(true);
    expect(run('has_cs "America"', 'North America')).toBe(true);
    expect(run('!has_cs "amer"', 'North America')).toBe(true);
    expect(run('has "Explorer"', 'Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun')).toBe(false);
    expect(run('has "c1db"', 'Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun')).toBe(true);
    expect(run('has_any ("CAROLINA", "DAKOTA", "NEW")', 'NEW YORK')).toBe(true);
    expect(run('has_any ("south", "north")', 'NEW YORK')).toBe(false);
    expect(run('has_all ("north", "dakota")', 'NORTH DAKOTA')).toBe(true);
    expect(run('has_all ("north", "york")', 'NORTH DAKOTA')).toBe(false);
    expect(run('has "cmd.exe"', 'C:\\cmd.exe /c')).toBe(true);
    expect(run('has "cmd.exe"', 'xcmd.exe')).toBe(false);
    expect(run('has "run"', 'run_now')).toBe(true);
  });
});
