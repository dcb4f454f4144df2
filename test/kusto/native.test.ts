import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileKql, KqlError, type Row } from './interpreter.js';

/**
 * The test interpreter on native queries of the shape `rulec import --from kusto` accepts, against
 * the examples of Kusto's documentation (String operators, has, has_any, has_all, between,
 * ipv4_is_private, project operators) and the seed rule.
 */

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

/** Does the row pass `T | where <expr>`? */
function where(expr: string, row: Row = {}): boolean {
  return compileKql(`T | where ${expr}`).run(row, NOW);
}

describe('term operators (Kusto: "What is a term?")', () => {
  it('has matches whole terms, case-insensitively; has_cs with case', () => {
    expect(where('"North America" has "america"')).toBe(true);
    expect(where('"KustoExplorerQueryRun" has "Explorer"')).toBe(false);
    expect(where('"KustoExplorerQueryRun" contains "Explorer"')).toBe(true);
    expect(where('"North America" !has "amer"')).toBe(true);
    expect(where('"North America" has_cs "America"')).toBe(true);
    expect(where('"North America" has_cs "america"')).toBe(false);
    expect(where('"North America" !has_cs "america"')).toBe(true);
  });

  it('terms are the maximal alphanumeric runs of the documented example', () => {
    const v = '"Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun"';
    for (const t of ['Kusto', 'KustoExplorerQueryRun', 'ad67d136', 'c1db', '4f9f', '88ef', 'd94f3b6b0b5a']) expect(where(`${v} has "${t}"`), t).toBe(true);
    for (const t of ['Explorer', 'ad67', 'd136', 'c1d']) expect(where(`${v} has "${t}"`), t).toBe(false);
  });

  it('a search string with punctuation matches on term boundaries at its alphanumeric ends', () => {
    const has = (lhs: string, rhs: string): boolean => where('L has R', { L: lhs, R: rhs });
    expect(has('C:\\dir\\a.exe', '.exe')).toBe(true);
    expect(has('C:\\dir\\a.EXE.txt', '.exe')).toBe(true);
    expect(has('C:\\dir\\a.exec', '.exe')).toBe(false);
    expect(has('a_exe', '.exe')).toBe(false);
    expect(has('ad67d136-c1db-4f9f-88ef', 'c1db-4f9f')).toBe(true);
    expect(has('ad67d136-xc1db-4f9f-88ef', 'c1db-4f9f')).toBe(false);
    expect(has('ad67d136-c1db-4f9fx', 'c1db-4f9f')).toBe(false);
  });

  it('has_any: any of the terms (literals or a let-bound dynamic list); has_all: every one', () => {
    expect(where('"North America" has_any ("europe", "america")')).toBe(true);
    expect(where('"North America" has_any ("europe", "amer")')).toBe(false);
    expect(where('"North America" has_all ("north", "america")')).toBe(true);
    expect(where('"North America" has_all ("north", "europe")')).toBe(false);
    const q = compileKql('let exts = dynamic([".dll", ".exe"]);\nT | where FileName has_any (exts)');
    expect(q.run({ FileName: 'beacon.EXE' }, NOW)).toBe(true);
    expect(q.run({ FileName: 'beacon.exec' }, NOW)).toBe(false);
  });
});

describe('other operators of native queries', () => {
  it('negated startswith and endswith, with and without case', () => {
    expect(where('"Fabrikam" !startswith "kam"')).toBe(true);
    expect(where('"Fabrikam" !startswith "FAB"')).toBe(false);
    expect(where('"Fabrikam" !startswith_cs "fab"')).toBe(true);
    expect(where('"Fabrikam" !endswith "brik"')).toBe(true);
    expect(where('"Fabrikam" !endswith "KAM"')).toBe(false);
    expect(where('"Fabrikam" !endswith_cs "KAM"')).toBe(true);
  });

  it('between is inclusive, !between its complement, and null drops the row', () => {
    expect(where('5 between (1 .. 5)')).toBe(true);
    expect(where('6 between (1 .. 5)')).toBe(false);
    expect(where('6 !between (1 .. 5)')).toBe(true);
    expect(where('P between (1 .. 5)', { P: null })).toBe(false);
    expect(where('P !between (1 .. 5)', { P: null })).toBe(false);
  });

  it('ipv4_is_private: the RFC 1918 ranges; text that is no address is null', () => {
    expect(where('ipv4_is_private("192.168.1.1")')).toBe(true);
    expect(where('ipv4_is_private("172.31.255.255")')).toBe(true);
    expect(where('ipv4_is_private("172.32.0.1")')).toBe(false);
    expect(where('ipv4_is_private("8.8.8.8")')).toBe(false);
    expect(where('not(ipv4_is_private("x"))')).toBe(false);
    expect(where('ipv4_is_in_any_range("10.1.2.3", dynamic(["192.168.0.0/16", "10.0.0.0/8"]))')).toBe(true);
  });

  it('let scalars, ago() against the fixed now', () => {
    const q = compileKql('let lookback = 1h;\nlet name = "x.exe";\nT\n| where TimeGenerated > ago(lookback)\n| where FileName =~ name');
    expect(q.run({ TimeGenerated: { dt: NOW - 59 * 60_000 }, FileName: 'X.EXE' }, NOW)).toBe(true);
    expect(q.run({ TimeGenerated: { dt: NOW - 61 * 60_000 }, FileName: 'X.EXE' }, NOW)).toBe(false);
  });

  it('JSON sub-fields through parse_json of text and through a dynamic column', () => {
    const row: Row = { AdditionalFields: '{"a": {"b": "deep"}, "FileType": "PortableExecutable"}', D: { dyn: { a: { b: 7 } } } };
    expect(compileKql('T | extend X = tostring(parse_json(AdditionalFields).a.b) | where X == "deep"').run(row, NOW)).toBe(true);
    expect(compileKql('T | extend Y = tostring(D.a.b) | where Y == "7"').run(row, NOW)).toBe(true);
    expect(compileKql('T | extend Z = tostring(parse_json(AdditionalFields).nothere.b) | where isempty(Z)').run(row, NOW)).toBe(true);
  });

  it('project computes and keeps columns, project-away drops, project-rename renames', () => {
    const row: Row = { A: 'a', B: 'b' };
    expect(compileKql('T | project A, C = strcat(A, B) | where C == "ab"').run(row, NOW)).toBe(true);
    expect(() => compileKql('T | project A | where B == "b"').run(row, NOW)).toThrow(KqlError);
    expect(() => compileKql('T | project-away B | where B == "b"').run(row, NOW)).toThrow(KqlError);
    expect(compileKql('T | project-away B | where A == "a"').run(row, NOW)).toBe(true);
    expect(compileKql('T | project-rename Z = A | where Z == "a"').run(row, NOW)).toBe(true);
  });
});

describe('functions and arithmetic of the Sentinel rules', () => {
  it('toint, tolower, array elements by index, datetime arithmetic', () => {
    expect(where('toint("42") == 42 and isnull(toint("4x"))')).toBe(true);
    expect(where('tolower("AbC") == "abc"')).toBe(true);
    expect(where('tostring(D[0].a) == "x" and isempty(tostring(D[5].a)) and tostring(D[-1].a) == "y"', { D: { dyn: [{ a: 'x' }, { a: 'y' }] } })).toBe(true);
    expect(where('T > ago(1h) + 30m', { T: { dt: NOW - 20 * 60_000 } })).toBe(true);
    expect(where('T > ago(1h) + 30m', { T: { dt: NOW - 40 * 60_000 } })).toBe(false);
    expect(where('2 * 3 + 1 == 7')).toBe(true);
    expect(where('column_ifexists("A", "none") == "a" and column_ifexists("Nope", "none") == "none"', { A: 'a' })).toBe(true);
    expect(where('tostring(extract_all(@"(\\d+)", "a1b22c333")) == \'["1","22","333"]\'')).toBe(true);
    expect(where('isnull(extract_all(@"(\\d+)", "abc"))')).toBe(true);
  });
});

describe('RE2 braces', () => {
  it('a brace that starts no repetition is a literal, as RE2 reads it; {n,m} repeats', () => {
    expect(where('"SMB_REALM_TRAVERSALx{a}" matches regex "(SMB_REALM_TRAVERSAL\\\\w+{[^\\\\n]*})"')).toBe(true);
    expect(where('"aaa" matches regex "^a{2,3}$"')).toBe(true);
    expect(where('"aaaa" matches regex "^a{2,3}$"')).toBe(false);
    expect(where('"[::ffff:10.1.2.3]" matches regex @"\\[?(::ffff:)?(?P<IPAddress>(\\d+\\.\\d+\\.\\d+\\.\\d+)|[^\\]]+)\\]?$"')).toBe(true);
  });
});

describe('exhaustive runs', () => {
  it('reach the constructs after a false condition, with the same verdict', () => {
    const q = compileKql('T | where A == "no" | where B has "x" or nosuchfunction(B)');
    expect(q.run({ A: 'a', B: 'b' }, NOW)).toBe(false);
    expect(() => q.run({ A: 'a', B: 'b' }, NOW, { exhaustive: true })).toThrow('unsupported function nosuchfunction');
    const ok = compileKql('T | where A == "a" or B has "x" | where B !has "x" and A != "z"');
    expect(ok.run({ A: 'a', B: 'b' }, NOW, { exhaustive: true })).toBe(true);
    expect(ok.run({ A: 'q', B: 'b' }, NOW, { exhaustive: true })).toBe(false);
  });
});

describe('the seed rule', () => {
  const seed = compileKql(readFileSync(new URL('../../../shared/seed/custom-script-extension-executable-drop.kql', import.meta.url), 'utf8'));
  const base: Row = {
    TimeGenerated: { dt: NOW - 10 * 60_000 },
    ActionType: 'FileCreated',
    InitiatingProcessFileName: 'CustomScriptHandler.exe',
    FileName: 'beacon.exe',
    AdditionalFields: '{"FileType": "Text"}',
  };

  it('reads DeviceFileEvents and selects the handler dropping an executable', () => {
    expect(seed.table).toBe('DeviceFileEvents');
    expect(seed.run(base, NOW)).toBe(true);
  });

  it('an executable file type despite the extension; a script, another process, an old event, another action are not', () => {
    expect(seed.run({ ...base, FileName: 'update.txt', AdditionalFields: '{"FileType": "PortableExecutable"}' }, NOW)).toBe(true);
    expect(seed.run({ ...base, FileName: 'setup.ps1' }, NOW)).toBe(false);
    expect(seed.run({ ...base, FileName: 'beacon.exec' }, NOW)).toBe(false);
    expect(seed.run({ ...base, InitiatingProcessFileName: 'explorer.exe' }, NOW)).toBe(false);
    expect(seed.run({ ...base, TimeGenerated: { dt: NOW - 2 * 3_600_000 } }, NOW)).toBe(false);
    expect(seed.run({ ...base, ActionType: 'FileDeleted' }, NOW)).toBe(false);
  });
});
