import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/collection/load.js';
import { Engine } from '../../src/eval/engine.js';
import { defaultRoutingData, parseRoutingData, routeOf } from '../../src/eval/route.js';

/** An engine over the given rule documents (YAML, `---` separated). */
function engineOf(yaml: string, opts = {}): Engine {
  const { engine, problems } = Engine.fromLoaded(loadText('rules.yml', yaml), opts);
  expect(problems).toEqual([]);
  return engine;
}
const titles = (e: Engine, ev: Record<string, unknown>) => e.matches(ev).map((r) => r.title);

const rule = (title: string, logsource: string, detection: string, id: string) => `title: ${title}
id: ${id}
logsource: {${logsource}}
detection:
${detection}
---
`;

const RULES = [
  rule('proc cmd', 'product: windows, category: process_creation', "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel", '00000000-0000-4000-8000-000000000001'),
  rule('file cmd', 'product: windows, category: file_event', "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel", '00000000-0000-4000-8000-000000000002'),
  rule('linux cmd', 'product: linux, category: process_creation', "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel", '00000000-0000-4000-8000-000000000003'),
  rule('sysmon any', 'product: windows, service: sysmon', "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel", '00000000-0000-4000-8000-000000000004'),
  rule('reg delete', 'product: windows, category: registry_delete', "  sel: {TargetObject|contains: 'Run'}\n  condition: sel", '00000000-0000-4000-8000-000000000005'),
  rule('file access', 'product: windows, category: file_access', "  sel: {FileName|contains: 'secret'}\n  condition: sel", '00000000-0000-4000-8000-000000000006'),
  rule('windows kw', 'product: windows', "  kw: ['mimikatz']\n  condition: kw", '00000000-0000-4000-8000-000000000007'),
].join('');

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

describe('log-source routing', () => {
  const engine = engineOf(RULES);

  it('routes a category on the channel and EventID that serve it', () => {
    expect(titles(engine, { Channel: SYSMON, EventID: 1, Image: 'C:\\Windows\\cmd.exe' })).toEqual(['proc cmd', 'sysmon any']);
    expect(titles(engine, { Channel: SYSMON, EventID: 11, Image: 'C:\\Windows\\cmd.exe' })).toEqual(['file cmd', 'sysmon any']);
    // EventID 1 of another channel is not a process creation
    expect(titles(engine, { Channel: 'Application', EventID: 1, Image: 'C:\\Windows\\cmd.exe' })).toEqual([]);
    // channel names compare case-insensitively; a string EventID is its number
    expect(titles(engine, { Channel: SYSMON.toLowerCase(), EventID: '1', Image: 'C:\\Windows\\cmd.exe' })).toEqual(['proc cmd', 'sysmon any']);
  });

  it('serves process_creation from Security 4688 with its field names', () => {
    expect(titles(engine, { Channel: 'Security', EventID: 4688, NewProcessName: 'C:\\Windows\\System32\\cmd.exe' })).toEqual(['proc cmd']);
    // the rename only fills a missing Sigma field
    expect(titles(engine, { Channel: 'Security', EventID: 4688, Image: 'x', NewProcessName: 'C:\\cmd.exe' })).toEqual([]);
    // and only for that channel and EventID
    expect(titles(engine, { Channel: SYSMON, EventID: 1, NewProcessName: 'C:\\cmd.exe' })).toEqual([]);
  });

  it('applies the where values of an alternative (registry_delete needs a Delete EventType)', () => {
    expect(titles(engine, { Channel: SYSMON, EventID: 12, EventType: 'DeleteKey', TargetObject: 'HKLM\\...\\Run' })).toEqual(['reg delete']);
    expect(titles(engine, { Channel: SYSMON, EventID: 12, EventType: 'deletevalue', TargetObject: 'HKLM\\...\\Run' })).toEqual(['reg delete']);
    expect(titles(engine, { Channel: SYSMON, EventID: 12, EventType: 'CreateKey', TargetObject: 'HKLM\\...\\Run' })).toEqual([]);
  });

  it('routes on the provider when the event has no channel', () => {
    expect(titles(engine, { Provider_Name: 'Microsoft-Windows-Sysmon', EventID: 1, Image: 'C:\\cmd.exe' })).toEqual(['proc cmd', 'sysmon any']);
  });

  it('keeps other products and log sources without data away from Windows events', () => {
    const ev = { Channel: 'Security', EventID: 4663, Image: 'C:\\cmd.exe', FileName: 'secret.txt', x: 'mimikatz' };
    expect(titles(engine, ev)).toEqual(['windows kw']);
    expect(engine.unroutedRules().map((u) => [u.rule.title, u.reason])).toEqual([['file access', "category 'file_access' has no channel/EventID data"]]);
  });

  it('does not route events without a channel: every rule applies', () => {
    expect(titles(engine, { Image: 'C:\\cmd.exe', FileName: 'secret', z: 'MIMIKATZ' })).toEqual([
      'proc cmd',
      'file cmd',
      'linux cmd',
      'sysmon any',
      'file access',
      'windows kw',
    ]);
  });

  it('can be turned off', () => {
    const off = engineOf(RULES, { routing: false });
    expect(titles(off, { Channel: 'Application', EventID: 5, Image: 'C:\\cmd.exe' })).toEqual(['proc cmd', 'file cmd', 'linux cmd', 'sysmon any']);
  });

  it('skips rules whose own EventID condition the event cannot meet, without changing verdicts', () => {
    const e = engineOf(
      rule('needs 4624', 'product: windows, service: security', '  sel: {EventID: 4624, LogonType: 10}\n  condition: sel', '00000000-0000-4000-8000-000000000011') +
        rule('needs 4624 text', 'product: windows, service: security', "  sel: {EventID: '4624'}\n  condition: sel", '00000000-0000-4000-8000-000000000012'),
    );
    expect(titles(e, { Channel: 'Security', EventID: 4624, LogonType: 10 })).toEqual(['needs 4624', 'needs 4624 text']);
    expect(titles(e, { Channel: 'Security', EventID: 4625, LogonType: 10 })).toEqual([]);
    expect(titles(e, { Channel: 'Security', EventID: [4625, 4624], LogonType: 10 })).toEqual(['needs 4624', 'needs 4624 text']);
    expect(titles(e, { EventID: '4624', LogonType: '10' })).toEqual(['needs 4624', 'needs 4624 text']);
  });
});

describe('routing data', () => {
  it('is built from the shared facts: every Windows category and service of the corpus that has a channel', () => {
    const data = defaultRoutingData();
    expect(data.categories.get('process_creation')!.map((a) => [a.service, a.eventIds])).toEqual([
      ['sysmon', [1]],
      ['security', [4688]],
    ]);
    expect(data.services.get('powershell')).toEqual(['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational']);
    expect(routeOf({ product: 'windows', category: 'antivirus' }, data).kind).toBe('windows');
    expect(routeOf({ category: 'antivirus' }, data).kind).toBe('windows');
    expect(routeOf({ category: 'proxy' }, data).kind).toBe('other');
    expect(routeOf({ product: 'windows', service: 'no-such-service' }, data)).toEqual({
      kind: 'unrouted',
      reason: "service 'no-such-service' has no channel data",
    });
  });

  it('reports a broken data file with the key at fault', () => {
    expect(() => parseRoutingData({ product: 'windows', services: {}, categories: { x: [{ service: 'nope', EventID: 1 }] } }, 'r.yml')).toThrow(
      "r.yml: categories.x[0].service 'nope' is not under services",
    );
    expect(() => parseRoutingData({ product: 'windows', services: { s: ['C'] }, categories: { x: [{ service: 's', EventID: 'one' }] } }, 'r.yml')).toThrow(
      'r.yml: categories.x[0].EventID must be an integer or a list of integers',
    );
  });
});
