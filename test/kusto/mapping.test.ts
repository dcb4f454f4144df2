import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/diag/diagnostic.js';
import { kustoMapping } from '../../src/targets/kusto/mapping.js';
import { main } from '../../src/cli/main.js';
import { deepMerge } from '../../src/config/mapping.js';
import { compile, mappingOf, PROC, rule } from './helpers.js';

const base = { time_column: 'TimeGenerated', schemas: ['azure-monitor.json'] };
const view = (v: Record<string, unknown>) => ({ ...base, logsources: { x: { logsource: { product: 'x' }, views: ['v'] } }, views: { v: { table: 'Syslog', ...v } } });

describe('mapping data is checked when it is loaded', () => {
  const err = (raw: unknown): string => {
    try {
      kustoMapping(raw, 'test');
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    return 'no error';
  };

  it('names the key and what is wrong', () => {
    expect(err(view({ table: 'NoSuchTable' }))).toBe("mapping for platform test: views.v.table: unknown table 'NoSuchTable' (not in the platform's schemas)");
    expect(err(view({ fields: { Image: 'NoColumn' } }))).toBe("mapping for platform test: views.v.fields.Image: table Syslog has no column 'NoColumn'");
    expect(err(view({ bag: 'ProcessID' }))).toMatch(/views\.v\.bag: column ProcessID is int; a bag must be dynamic or JSON text/);
    expect(err(view({ where: { ProcessID: 'abc' } }))).toMatch(/views\.v\.where\.ProcessID: column ProcessID is int; 'abc' is not a number/);
    expect(err(view({ fields: { F: { column: 'Facility', values: { a: 'x', b: ['y', 'x'] } } } }))).toMatch(/views\.v\.fields\.F\.values\.b: stored value 'x' also stands for 'a'/);
    expect(err({ ...base, logsources: { x: { logsource: { product: 'x' }, views: ['nope'] } }, views: {} })).toMatch(/logsources\.x\.views: unknown view 'nope'/);
    expect(err({ ...base, schemas: ['missing.json'], logsources: {}, views: {} })).toMatch(/cannot read Kusto schema file missing\.json: ENOENT/);
    expect(err(view({ fields: { U: { join: ['HostName', 'ProcessID'], separator: '\\' } } }))).toBe('mapping for platform test: views.v.fields.U.join[1]: column ProcessID is int; a join reads text columns');
    expect(err(view({ fields: { U: { join: ['HostName'], separator: '\\' } } }))).toMatch(/views\.v\.fields\.U\.join: expected two text columns/);
    expect(err(view({ fields: { U: { join: ['HostName', 'Computer'], separator: '' } } }))).toMatch(/views\.v\.fields\.U\.separator: expected the text between the two parts/);
    expect(err(view({ fields: { U: { join: ['HostName', 'Computer'], separator: '\\', rewrite: [{ from: 'HKEY_USERS\\', to: '' }] } } }))).toMatch(/views\.v\.fields\.U\.rewrite\[0\]: expected non-empty texts \{from, to\}/);
  });
});

describe('unknown log sources and fields fail the rule, naming the valid choices', () => {
  it('a log source without a table lists the log sources of the same product', () => {
    const r = compile(rule('{product: windows, category: no_such_category}', 'sel:\n  Image: x\ncondition: sel'));
    expect(r).toMatchObject({ ok: false, kind: 'mapping' });
    expect(!r.ok && r.error).toMatch(/^log source windows\/no_such_category has no table on platform sentinel; log sources of product windows: windows, windows\/antivirus, .*windows\/process_creation.* \(add one with --mapping\)$/);
  });

  it('a field without a column lists the fields the table maps', () => {
    const r = compile(rule('{product: windows, category: image_load}', 'sel:\n  NoSuchField: x\ncondition: sel'), 'defender-xdr');
    expect(r).toMatchObject({ ok: false, kind: 'mapping' });
    expect(!r.ok && r.error).toMatch(/^field 'NoSuchField' is not mapped for log source windows\/image_load on platform defender-xdr \(table DeviceImageLoadEvents\); mapped fields: CommandLine, Company, .*ImageLoaded.*\(add it with --mapping\)$/);
  });

  it('a field with no exact reading says why', () => {
    const r = compile(rule(PROC, "sel:\n  Hashes|contains: 'IMPHASH=0'\ncondition: sel"), 'defender-xdr');
    expect(r).toMatchObject({ ok: false, kind: 'unsupported' });
    expect(!r.ok && r.error).toMatch(/field 'Hashes' cannot be read exactly from DeviceProcessEvents .*each hash in its own column/);
  });

  it('Sentinel falls back to the next candidate table that expresses the rule', () => {
    const r = compile(rule(PROC, "sel:\n  CurrentDirectory|startswith: 'C:\\Temp\\'\ncondition: sel"));
    expect(r.ok && r.query).toContain('WindowsEvent\n| where Channel == "Microsoft-Windows-Sysmon/Operational" and EventID == 1');
  });

  it('Defender reads User and TargetObject by joining the two columns it stores them in', () => {
    expect(compile(rule(PROC, "sel:\n  User: 'CORP\\bob'\ncondition: sel"), 'defender-xdr')).toMatchObject({
      ok: true,
      query: 'DeviceProcessEvents\n| where ActionType == "ProcessCreated"\n| extend User = strcat(AccountDomain, iff(isnotempty(AccountDomain) and isnotempty(AccountName), @"\\", ""), AccountName)\n| where User =~ @"CORP\\bob"\n',
    });
    // An output field alone: the column of the result under its Sigma name.
    const out = compile(rule(PROC, "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel", 'output: [User]\n'), 'defender-xdr');
    expect(out.ok && out.query).toMatch(/\| where FileName =~ "cmd.exe"\n\| extend User = strcat\(AccountDomain, .*AccountName\)\n$/);
    const r = compile(rule('{product: windows, category: registry_set}', "sel:\n  TargetObject|endswith: '\\Run\\x'\ncondition: sel"), 'defender-xdr');
    expect(r.ok && r.query).toContain(
      '| extend TargetObject = strcat(case(RegistryKey startswith @"HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\", strcat(@"HKLM\\System\\CurrentControlSet\\", substring(RegistryKey, 40)), RegistryKey startswith @"HKEY_LOCAL_MACHINE\\", strcat(@"HKLM\\", substring(RegistryKey, 19)),',
    );
    expect(r.ok && r.query).toContain('RegistryKey), iff(isnotempty(RegistryKey) and isnotempty(RegistryValueName), @"\\", ""), RegistryValueName)\n| where TargetObject endswith @"\\Run\\x"');
  });
});

describe('the data source a query reads', () => {
  const cwd = "sel:\n  Image|endswith: '\\cmd.exe'\n  CurrentDirectory|startswith: 'C:\\Temp\\'\ncondition: sel";

  it('is named in the result, with the reason and a note when the rule falls back from the first candidate', () => {
    expect(compile(rule(PROC, "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel"))).toMatchObject({ ok: true, source: { table: 'DeviceProcessEvents', name: 'defender' } });
    const r = compile(rule(PROC, cwd));
    expect(r).toMatchObject({ ok: true, source: { table: 'WindowsEvent', name: 'sysmon' } });
    expect(r.ok && r.source?.reason).toBe("DeviceProcessEvents (defender): field 'CurrentDirectory' is not mapped for log source windows/process_creation on platform sentinel (table DeviceProcessEvents)");
    expect(r.ok && r.notes).toEqual([`falls back to WindowsEvent (sysmon); ${r.ok && r.source?.reason}`]);
  });

  it('is pinned by the mapping key source:, which refuses a rule the pinned source cannot serve and names the field', () => {
    const sec = deepMerge(mappingOf('sentinel'), { source: 'security-event' });
    expect(compile(rule(PROC, "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel"), 'sentinel', 'query', sec)).toMatchObject({
      ok: true,
      query: 'SecurityEvent\n| where EventID == 4688\n| where NewProcessName endswith @"\\cmd.exe"\n',
      source: { table: 'SecurityEvent', name: 'security-event' },
    });
    const r = compile(rule(PROC, cwd), 'sentinel', 'query', sec);
    expect(r).toMatchObject({ ok: false, kind: 'mapping' });
    expect(!r.ok && r.error).toMatch(/^source pinned to security-event \(the mapping's source:\): field 'CurrentDirectory' is not mapped for log source windows\/process_creation on platform sentinel \(table SecurityEvent\); mapped fields: CommandLine, Computer, Image, ParentImage/);
    const u = compile(rule(PROC, "sel:\n  User: 'CORP\\bob'\ncondition: sel"), 'sentinel', 'query', sec);
    expect(!u.ok && u.error).toMatch(/field 'User' cannot be read exactly from SecurityEvent .*creator's account/);
    const sys = compile(rule('{product: windows, service: system}', 'sel:\n  EventID: 7045\ncondition: sel'), 'sentinel', 'query', sec);
    expect(!sys.ok && sys.error).toBe("log source windows/service:system has no table of source security-event on platform sentinel (pinned by the mapping's source:); its sources: windows-event (WindowsEvent)");
    const asim = compile(rule(PROC, cwd), 'sentinel', 'query', deepMerge(mappingOf('sentinel'), { source: 'asim' }));
    expect(asim).toMatchObject({
      ok: true,
      query: '_Im_ProcessCreate\n| where TargetProcessName endswith @"\\cmd.exe"\n| where TargetProcessCurrentDirectory startswith @"C:\\Temp\\"\n',
      source: { table: '_Im_ProcessCreate', name: 'asim' },
    });
    // Its artifact maps the ASIM columns to Sentinel entities.
    const yaml = compile(rule(PROC, cwd), 'sentinel', 'sentinel-yaml', deepMerge(mappingOf('sentinel'), { source: 'asim' }));
    expect(yaml.ok && yaml.output).toMatch(/entityType: Host\n {4}fieldMappings:\n {6}- identifier: HostName\n {8}columnName: DvcHostname/);
    // A list pins in order of preference.
    const pref = deepMerge(mappingOf('sentinel'), { source: ['sysmon', 'defender'] });
    expect(compile(rule(PROC, "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel"), 'sentinel', 'query', pref)).toMatchObject({ ok: true, source: { table: 'WindowsEvent', name: 'sysmon' } });
  });

  it('an unknown pinned source is a usage error naming the sources', () => {
    expect(() => kustoMapping(deepMerge(mappingOf('sentinel'), { source: 'sysmonn' }), 'sentinel')).toThrow(
      "mapping for platform sentinel: source: unknown source 'sysmonn'; sources of platform sentinel: asim, defender, security-event, sysmon, windows-event",
    );
  });

  it('build --json records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-ksrc-'));
    writeFileSync(join(dir, 'a.yml'), rule(PROC, cwd));
    const records: unknown[] = [];
    const io = { out: () => {}, err: () => {}, json: (o: unknown) => records.push(o) };
    expect(await main(['build', '--target', 'kusto', '--json', dir], io)).toBe(0);
    expect(records[0]).toMatchObject({ ok: true, source: { table: 'WindowsEvent', name: 'sysmon', reason: expect.stringContaining("'CurrentDirectory'") }, notes: [expect.stringMatching(/^falls back to WindowsEvent \(sysmon\)/)] });
  });
});

describe('--mapping extends a platform', () => {
  it('adds a field to a view, and a log source with its own table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-krules-'));
    const extra = join(mkdtempSync(join(tmpdir(), 'rulec-kmap-')), 'extra.yml');
    writeFileSync(
      extra,
      [
        'views:',
        '  mde_image_loaded:',
        '    fields:',
        '      Signed: {constant: "true"}',
        '  my_app:',
        '    table: MyApp_CL',
        '    suffixed: true',
        '    time_column: TimeGenerated',
        'columns:',
        '  MyApp_CL: {TimeGenerated: datetime, action_s: string}',
        'logsources:',
        '  myapp:',
        '    logsource: {product: myapp}',
        '    views: [my_app]',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'a.yml'), rule('{product: windows, category: image_load}', 'sel:\n  Signed: "false"\n  ImageLoaded|endswith: \'\\x.dll\'\ncondition: sel'));
    writeFileSync(join(dir, 'b.yml'), rule('{product: myapp}', 'sel:\n  action: delete\ncondition: sel').replace('5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40', '5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a41'));
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), json: () => {} };
    const status = await main(['build', '--target', 'kusto', '--platform', 'defender-xdr', '--mapping', extra, '--validate', dir], io);
    const text = out.join('\n');
    expect(status, text).toBe(0);
    expect(text).toContain('DeviceImageLoadEvents\n| where ActionType == "ImageLoaded"\n| where false');
    expect(text).toContain('MyApp_CL\n| where action_s =~ "delete"');
  }, 60_000);
});
