import { describe, expect, it } from 'vitest';
import { listPlatforms } from '../../src/config/mapping.js';
import { liftPredicate, logsourceOf, reverseMapping, sigmaFieldOf, sigmaFieldOfExpression, viewConditions, type ColumnPredicate, type LogsourceMatch, type SigmaTest } from '../../src/import/kusto/reverse.js';
import { fieldAccess, logSourceName, viewsFor } from '../../src/targets/kusto/mapping.js';
import { literal, toSigmaNotation } from '../../src/parse/sigma-string.js';
import { kql, rule } from '../kusto/helpers.js';

/**
 * The Kusto mapping read backwards (src/import/kusto/reverse.ts), over the real platform data: every
 * log source round-trips through its views, every column a view reads a field from maps back to a
 * field read from that column, and lifted predicates compile back to the predicate they came from.
 */

const PLATFORMS = listPlatforms('kusto');

function at(platform: string, table: string, filters: Parameters<typeof logsourceOf>[2]): LogsourceMatch {
  const r = logsourceOf(reverseMapping(platform), table, filters);
  if (!r.ok) throw new Error(r.error);
  return r;
}

const FILE_CREATED = [{ column: 'ActionType', values: ['FileCreated'] }];

describe('logsourceOf: table and row conditions -> log source', () => {
  it('the platforms are the Kusto target platforms', () => {
    expect(PLATFORMS).toEqual(['defender-xdr', 'sentinel']);
  });

  for (const platform of PLATFORMS) {
    it(`${platform}: every log source, through each view the target reads it from, comes back`, () => {
      const m = reverseMapping(platform);
      let n = 0;
      for (const entry of m.logsources) {
        for (const ls of entry.match) {
          for (const view of viewsFor(m, ls)) {
            const conds = viewConditions(view);
            expect(conds, `${logSourceName(ls)}: view ${view.name} has a filter the reverse cannot read`).toBeDefined();
            const r = logsourceOf(m, view.table, conds!);
            expect(r.ok, `${logSourceName(ls)} via ${view.name}: ${r.ok ? '' : r.error}`).toBe(true);
            if (!r.ok) continue;
            expect([r.logsource, ...r.alternatives].map(logSourceName), `${logSourceName(ls)} via ${view.name}`).toContain(logSourceName(ls));
            expect(r.view.table).toBe(view.table);
            expect(r.consumedFilters).toEqual(conds);
            n++;
          }
        }
      }
      expect(n).toBeGreaterThan(platform === 'sentinel' ? 100 : 15);
    });
  }

  it('DeviceFileEvents + ActionType == "FileCreated" is windows/file_event on both platforms, the filter consumed', () => {
    for (const platform of PLATFORMS) {
      const r = at(platform, 'DeviceFileEvents', FILE_CREATED);
      expect(r.logsource).toEqual({ product: 'windows', category: 'file_event' });
      expect(r.alternatives).toEqual([]);
      expect(r.viewName).toBe('mde_file_created');
      expect(r.consumedFilters).toEqual(FILE_CREATED);
    }
  });

  it('the posix filter picks the Linux view, macOS being the same rows', () => {
    const r = at('defender-xdr', 'DeviceFileEvents', [...FILE_CREATED, { column: 'FolderPath', op: 'startswith', values: ['/'] }]);
    expect(r.logsource).toEqual({ product: 'linux', category: 'file_event' });
    expect(r.alternatives).toEqual([{ product: 'macos', category: 'file_event' }]);
    expect(r.consumedFilters).toHaveLength(2);
  });

  it('one ActionType of several selects the view but stays a predicate (not consumed)', () => {
    const r = at('defender-xdr', 'DeviceNetworkEvents', [{ column: 'ActionType', values: ['ConnectionSuccess'] }]);
    expect(logSourceName(r.logsource)).toBe('windows/network_connection');
    expect(r.consumedFilters).toEqual([]);
  });

  it('Sysmon in WindowsEvent: the channel and the event id give the category; the channel alone the service-less view', () => {
    const sysmon = { column: 'Channel', values: ['Microsoft-Windows-Sysmon/Operational'] };
    expect(logSourceName(at('sentinel', 'WindowsEvent', [sysmon, { column: 'EventID', values: [1] }]).logsource)).toBe('windows/process_creation');
    expect(logSourceName(at('sentinel', 'WindowsEvent', []).logsource)).toBe('windows');
  });

  it('rows no log source selects: the error names the log sources the table serves, with their conditions', () => {
    const r = logsourceOf(reverseMapping('defender-xdr'), 'DeviceFileEvents', [{ column: 'ActionType', values: ['FileModified'] }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toContain('DeviceFileEvents (ActionType == FileModified)');
    expect(r.error).toContain('windows/file_event (ActionType == FileCreated)');
    expect(r.error).toContain('windows/file_delete (ActionType == FileDeleted)');
    expect(r.error).toContain('linux/file_event or macos/file_event (ActionType == FileCreated and FolderPath startswith /)');
  });

  it('an unmapped table: the error names the mapped tables', () => {
    const r = logsourceOf(reverseMapping('defender-xdr'), 'SigninLogs', []);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/table SigninLogs is not mapped .* mapped tables: DeviceEvents, DeviceFileEvents/);
  });
});

describe('sigmaFieldOf: column -> Sigma field', () => {
  for (const platform of PLATFORMS) {
    it(`${platform}: every column or JSON property a view reads a field from maps back to a field read from it`, () => {
      const m = reverseMapping(platform);
      let n = 0;
      for (const entry of m.logsources) {
        for (const view of entry.views) {
          const place = { logsource: entry.match[0]!, view };
          for (const [field, a] of view.fields) {
            if (a.kind !== 'column' && a.kind !== 'json') continue;
            const r = sigmaFieldOf(m, place, a.column, a.kind === 'json' ? a.path.map(String) : []);
            expect(r.exact, `${view.name}.${field}`).toBe(true);
            if (!r.exact) continue;
            // Another field of the same reading may win (EventLog and Channel both read Channel).
            expect(fieldAccess(view, r.field, place.logsource, platform), `${view.name}.${field}`).toEqual(a);
            if (a.kind === 'column' && a.basename) {
              const b = sigmaFieldOf(m, place, a.basename);
              expect(b.exact && b.transform, `${view.name}.${field} basename`).toBe('basename');
            }
            n++;
          }
        }
      }
      expect(n).toBeGreaterThan(50);
    });
  }

  it('a column of the same name as the field wins over an alias of it (Channel, not EventLog)', () => {
    const r = sigmaFieldOf(reverseMapping('sentinel'), at('sentinel', 'WindowsEvent', []), 'Channel');
    expect(r).toMatchObject({ exact: true, field: 'Channel' });
  });

  it('bags, identity views and prefixes map back through the forward reading', () => {
    const m = reverseMapping('sentinel');
    const win = at('sentinel', 'WindowsEvent', []);
    expect(sigmaFieldOf(m, win, 'EventData', ['TargetImage'])).toMatchObject({ exact: true, field: 'TargetImage' });
    const sec = at('sentinel', 'SecurityEvent', [{ column: 'EventID', values: [4688] }]);
    expect(sigmaFieldOf(m, sec, 'NewProcessName')).toMatchObject({ exact: true, field: 'Image' });
  });

  it("a joined field's computed column is that field when its expression is the target's reading of it", () => {
    const m = reverseMapping('defender-xdr');
    const reg = at('defender-xdr', 'DeviceRegistryEvents', [{ column: 'ActionType', values: ['RegistryValueSet'] }]);
    const query = kql(rule('{product: windows, category: registry_set}', "sel:\n  TargetObject|endswith: '\\Run\\x'\ncondition: sel"), 'defender-xdr');
    const expr = /\| extend TargetObject = (.*)/.exec(query)![1]!;
    expect(sigmaFieldOfExpression(m, reg, expr)).toMatchObject({ exact: true, field: 'TargetObject' });
    // Spelled otherwise (regular literals, other layout), the same expression.
    const respelled = expr.replace(/@"([^"]*)"/g, (_, t: string) => JSON.stringify(t)).replace(/, /g, ' ,\n  ');
    expect(respelled).not.toBe(expr);
    expect(sigmaFieldOfExpression(m, reg, respelled)).toMatchObject({ exact: true, field: 'TargetObject' });
    // Another rewrite is another value.
    expect(sigmaFieldOfExpression(m, reg, expr.replace('substring(RegistryKey, 19)', 'substring(RegistryKey, 18)'))).toMatchObject({ exact: false, why: expect.stringContaining('computed fields of the view are User, TargetObject') });
    expect(liftPredicate(m, reg, { column: 'TargetObject', expression: expr, op: 'endswith', values: ['\\Run\\x'] })).toEqual({
      ok: true, not: false, all: [{ field: 'TargetObject', modifiers: ['endswith'], values: ['\\Run\\x'] }],
    });
  });

  it('a part of a joined field, a row-selection column and an unknown column are not exact, with the reason', () => {
    const m = reverseMapping('defender-xdr');
    const f = at('defender-xdr', 'DeviceFileEvents', FILE_CREATED);
    expect(sigmaFieldOf(m, f, 'InitiatingProcessAccountName')).toEqual({ exact: false, why: expect.stringContaining("one part of Sigma's User") });
    expect(sigmaFieldOf(m, f, 'ActionType')).toEqual({ exact: false, why: expect.stringContaining('selects the log source') });
    expect(sigmaFieldOf(m, f, 'NoSuchColumn')).toEqual({ exact: false, why: "table DeviceFileEvents has no column 'NoSuchColumn'" });
  });
});

describe('liftPredicate: one column predicate -> one Sigma field test', () => {
  const m = reverseMapping('defender-xdr');
  const file = at('defender-xdr', 'DeviceFileEvents', FILE_CREATED);
  const lift = (p: ColumnPredicate, where = file) => liftPredicate(m, where, p);

  it('the seed: InitiatingProcessFileName =~ "x.exe" is Image|endswith "\\x.exe", since the mapping makes it the file name of Image', () => {
    expect(lift({ column: 'InitiatingProcessFileName', op: '=~', values: ['customscripthandler.exe'] })).toEqual({
      ok: true, not: false, all: [{ field: 'Image', modifiers: ['endswith'], values: ['\\customscripthandler.exe'] }],
    });
    expect(lift({ column: 'AdditionalFields', path: ['FileType'], op: 'contains', values: ['Executable'] })).toEqual({
      ok: true, not: false, all: [{ field: 'FileType', modifiers: ['contains'], values: ['Executable'] }],
    });
  });

  it('the seed: FileName has_any is refused: a term match on the file name is not one on the full path', () => {
    const r = lift({ column: 'FileName', op: 'has_any', values: ['.exe', '.dll'] });
    expect(r).toEqual({ ok: false, why: expect.stringContaining('a term match on the file name is not a term match on the full TargetFilename') });
  });

  it('file-name columns: equality, lists and negations as endswith "\\name"; endswith with a backslash test; the rest refused', () => {
    expect(lift({ column: 'FileName', op: '==', values: ['a.exe'] })).toMatchObject({ ok: true, not: false, all: [{ field: 'TargetFilename', modifiers: ['endswith', 'cased'], values: ['\\a.exe'] }] });
    expect(lift({ column: 'FileName', op: '!in~', values: ['a.exe', 'b.exe'] })).toMatchObject({ ok: true, not: true, all: [{ modifiers: ['endswith'], values: ['\\a.exe', '\\b.exe'] }] });
    expect(lift({ column: 'FileName', op: 'endswith', values: ['.exe'] })).toMatchObject({
      ok: true, all: [{ field: 'TargetFilename', modifiers: ['endswith'], values: ['.exe'] }, { field: 'TargetFilename', modifiers: ['contains'], values: ['\\'] }],
    });
    expect(lift({ column: 'FileName', op: 'startswith', values: ['a'] })).toMatchObject({ ok: false, why: expect.stringContaining('startswith on the file name has no exact Sigma test') });
    expect(lift({ column: 'FileName', op: '==', values: [''] })).toMatchObject({ ok: false, why: expect.stringContaining('without a backslash') });
    expect(lift({ column: 'FileName', op: '==', values: ['a\\b'] })).toMatchObject({ ok: false, why: expect.stringContaining('never holds a backslash') });
  });

  it("Defender's parent: only its file name is stored, so only equality lifts", () => {
    expect(lift({ column: 'InitiatingProcessParentFileName', op: '=~', values: ['cmd.exe'] })).toMatchObject({ ok: true, all: [{ field: 'ParentImage', modifiers: ['endswith'], values: ['\\cmd.exe'] }] });
    expect(lift({ column: 'InitiatingProcessParentFileName', op: 'endswith', values: ['.exe'] })).toMatchObject({ ok: false, why: expect.stringContaining("only ParentImage's file name is stored") });
  });

  it('value columns: each operator family to its modifier, _cs to cased, ! to not', () => {
    const t = (op: string, values: (string | number)[], column = 'FolderPath'): unknown => lift({ column, op, values });
    expect(t('contains_cs', ['Temp'])).toMatchObject({ ok: true, not: false, all: [{ field: 'TargetFilename', modifiers: ['contains', 'cased'] }] });
    expect(t('!startswith', ['C:'])).toMatchObject({ ok: true, not: true, all: [{ modifiers: ['startswith'] }] });
    expect(t('has', ['temp'])).toMatchObject({ ok: true, all: [{ modifiers: ['has'], values: ['temp'] }] });
    expect(t('has_cs', ['Temp'])).toMatchObject({ ok: true, all: [{ modifiers: ['has', 'cased'] }] });
    expect(t('has_all', ['a', 'b'])).toMatchObject({ ok: true, all: [{ modifiers: ['has', 'all'], values: ['a', 'b'] }] });
    expect(t('!has', ['a'])).toMatchObject({ ok: true, not: true, all: [{ modifiers: ['has'] }] });
    expect(t('matches regex', ['^a.*b$'])).toMatchObject({ ok: true, all: [{ modifiers: ['re'], values: ['^a.*b$'] }] });
    expect(t('isempty', [])).toMatchObject({ ok: true, not: false, all: [{ modifiers: [], values: [null] }] });
    expect(t('isnotempty', [])).toMatchObject({ ok: true, not: true, all: [{ values: [null] }] });
    expect(t('isnull', [])).toMatchObject({ ok: false, why: expect.stringContaining('never null') });
    expect(t('=~', ['straße'])).toMatchObject({ ok: false, why: expect.stringContaining('ß') });
    expect(t('like', ['x'])).toMatchObject({ ok: false, why: expect.stringContaining('operator like has no Sigma form') });
  });

  it('numbers, ranges and IP functions', () => {
    const net = at('defender-xdr', 'DeviceNetworkEvents', [{ column: 'ActionType', values: ['ConnectionSuccess', 'ConnectionFailed', 'ConnectionAttempt', 'ConnectionRequest', 'InboundConnectionAccepted'] }]);
    const n = (p: ColumnPredicate): unknown => lift(p, net);
    expect(n({ column: 'RemotePort', op: '==', values: [443] })).toMatchObject({ ok: true, all: [{ field: 'DestinationPort', modifiers: [], values: [443] }] });
    expect(n({ column: 'RemotePort', op: 'between', values: [1, 1024] })).toMatchObject({ ok: true, all: [{ modifiers: ['gte'], values: [1] }, { modifiers: ['lte'], values: [1024] }] });
    expect(n({ column: 'RemotePort', op: '>', values: [1024] })).toMatchObject({ ok: true, all: [{ modifiers: ['gt'] }] });
    expect(n({ column: 'RemotePort', op: 'contains', values: ['44'] })).toMatchObject({ ok: false });
    expect(n({ column: 'RemoteIP', op: 'ipv4_is_private', values: [] })).toMatchObject({ ok: true, all: [{ field: 'DestinationIp', modifiers: ['cidr'], values: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }] });
    expect(n({ column: 'RemoteIP', op: 'ipv4_is_in_any_range', values: ['1.2.3.4', '10.0.0.0/8'] })).toMatchObject({ ok: true, all: [{ values: ['1.2.3.4/32', '10.0.0.0/8'] }] });
  });

  it('coded columns: stored values lift only when they are exactly some Sigma values', () => {
    const net = at('defender-xdr', 'DeviceNetworkEvents', [{ column: 'ActionType', values: ['InboundConnectionAccepted'] }]);
    expect(lift({ column: 'ActionType', op: '==', values: ['InboundConnectionAccepted'] }, net)).toEqual({ ok: true, not: false, all: [{ field: 'Initiated', modifiers: [], values: ['false'] }] });
    expect(lift({ column: 'ActionType', op: 'in', values: ['ConnectionSuccess', 'ConnectionFailed', 'ConnectionAttempt', 'ConnectionRequest'] }, net)).toMatchObject({ ok: true, all: [{ field: 'Initiated', values: ['true'] }] });
    expect(lift({ column: 'ActionType', op: '==', values: ['ConnectionSuccess'] }, net)).toMatchObject({ ok: false, why: expect.stringContaining("ConnectionSuccess is part of Initiated 'true'") });
  });

  /** A rule of the lifted tests, in Sigma notation. */
  function ruleOf(ls: string, lifted: { not: boolean; all: SigmaTest[] }): string {
    const value = (t: SigmaTest, v: string | number | null): string =>
      v === null || typeof v === 'number' || t.modifiers.includes('re') || t.modifiers.includes('cidr') ? JSON.stringify(v) : JSON.stringify(toSigmaNotation(literal(v)));
    const sel = lifted.all.map((t, i) => `sel${i}:\n  ${[t.field, ...t.modifiers].join('|')}: [${t.values.map((v) => value(t, v)).join(', ')}]`).join('\n');
    return rule(ls, `${sel}\ncondition: ${lifted.not ? 'not ' : ''}(${lifted.all.map((_, i) => `sel${i}`).join(' and ')})`);
  }

  it('one mapping, two directions: a lifted predicate compiles back to the predicate it came from', () => {
    const cases: [ColumnPredicate, string][] = [
      [{ column: 'InitiatingProcessFileName', op: '=~', values: ['customscripthandler.exe'] }, 'InitiatingProcessFileName =~ "customscripthandler.exe"'],
      [{ column: 'FileName', op: '==', values: ['a.exe'] }, 'FileName == "a.exe"'],
      [{ column: 'FolderPath', op: 'startswith_cs', values: ['C:\\Temp\\'] }, 'FolderPath startswith_cs @"C:\\Temp\\"'],
      [{ column: 'AdditionalFields', path: ['FileType'], op: 'contains', values: ['Executable'] }, 'contains "Executable"'],
    ];
    for (const [p, want] of cases) {
      const r = lift(p);
      if (!r.ok) throw new Error(r.why);
      expect(kql(ruleOf('{product: windows, category: file_event}', r), 'defender-xdr'), JSON.stringify(p)).toContain(want);
    }
  });
});
