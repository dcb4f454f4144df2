/**
 * Windows EventData names with spaces (Microsoft Defender Antivirus writes `Threat Name`, `Source
 * Name`, `Process Name`; Sigma rules say `ThreatName`, `SourceName`, `ProcessName`): the evaluator
 * resolves a rule field to the name without spaces (docs/semantics.md section 1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection, loadText } from '../../src/collection/load.js';
import { Engine } from '../../src/eval/engine.js';
import { eventFields, flattenEvent } from '../../src/eval/shape.js';
import { SIGMAHQ } from '../helpers/corpus.js';

/** Real-shaped Defender Operational events (evtx_dump JSON): 1116, 1117, 1119 (as a Data list). */
export const DEFENDER_EVENTS = readFileSync(new URL('../fixtures/evtx/defender.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Record<string, unknown>);

const WINDEFEND = `${SIGMAHQ}/windows/builtin/windefend`;

function ruleText(id: string, detection: string): string {
  return `title: Spaced names ${id}
id: 00000000-0000-4000-8000-${id.padStart(12, '0')}
logsource:
  product: windows
  service: windefend
detection:
${detection.trim().split('\n').map((l) => '  ' + l).join('\n')}
`;
}

/** The titles of the rules that match each event, indexed and not (they must agree). */
function matchesOf(texts: string[], events: Record<string, unknown>[]): string[][] {
  const loaded = texts.flatMap((t, i) => loadText(`r${i}.yml`, t));
  const out: string[][][] = [true, false].map((index) => {
    const { engine, problems } = Engine.fromLoaded(loaded, { index });
    expect(problems).toEqual([]);
    return events.map((e) => engine.matches(e).map((r) => r.title));
  });
  expect(out[0]).toEqual(out[1]);
  return out[0]!;
}

describe('EventData names with spaces', () => {
  it('are also read without their spaces, both spellings holding the value', () => {
    const [e1116, , e1119] = DEFENDER_EVENTS.map(flattenEvent);
    expect(e1116).toMatchObject({
      EventID: 1116,
      'Threat Name': 'Trojan:PowerShell/Downloader.RB!MTB',
      ThreatName: 'Trojan:PowerShell/Downloader.RB!MTB',
      SourceName: 'AMSI',
      ProcessName: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      SecurityintelligenceVersion: 'AV: 1.421.512.0, AS: 1.421.512.0, NIS: 1.421.512.0',
      Path: 'amsi:_C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    });
    // The same from a list of Data elements.
    expect(e1119).toMatchObject({ EventID: 1119, ThreatName: 'HackTool:Win64/Mikatz!dha', ErrorCode: '0x80508023', 'Error Code': '0x80508023' });
    // Space-less names come after every name of the event (the event's own names keep their order).
    const keys = Object.keys(e1116!);
    expect(keys.indexOf('ThreatName')).toBeGreaterThan(keys.indexOf('Engine Version'));
  });

  it('lose to an exact name anywhere in the event, and the first of two spellings wins', () => {
    const ev = flattenEvent({
      Event: {
        System: { EventID: 1, Channel: 'X' },
        EventData: { 'Threat Name': 'spaced', ThreatName: 'exact', 'Source  Name': 'first', 'Sou rceName': 'second', ' ': 'blank' },
        UserData: { Wrap: { 'Process Name': 'from UserData', 'Event ID': 'not System' } },
      },
      Extra: 'x',
    });
    expect(ev).toEqual({
      EventID: 1,
      Channel: 'X',
      'Threat Name': 'spaced',
      ThreatName: 'exact',
      'Source  Name': 'first',
      'Sou rceName': 'second',
      ' ': 'blank',
      'Process Name': 'from UserData',
      'Event ID': 'not System',
      Extra: 'x',
      SourceName: 'first',
      ProcessName: 'from UserData',
    });
    // Exact names beside Event win too (EventID from System already holds `EventID`).
    expect(flattenEvent({ Event: { System: { EventID: 1 }, EventData: { 'Threat Name': 'spaced' } }, ThreatName: 'top' }).ThreatName).toBe('top');
    // A flat event is taken as it is.
    expect([...eventFields({ 'Threat Name': 'x' }).keys()]).toEqual(['Threat Name']);
  });

  it("let SigmaHQ's windefend rules match real-shaped Defender 1116, 1117 and 1119 events", () => {
    if (!existsSync(WINDEFEND)) return; // the shared corpus is not available
    const { rules } = loadCollection([WINDEFEND]);
    const titles = (events: Record<string, unknown>[], index: boolean): string[][] => {
      const { engine, problems } = Engine.fromLoaded(rules, { index });
      expect(problems).toEqual([]);
      return events.map((e) => engine.matches(e).map((r) => r.title).sort());
    };
    const got = titles(DEFENDER_EVENTS, true);
    expect(got).toEqual(titles(DEFENDER_EVENTS, false));
    expect(got).toEqual([
      ['Windows Defender AMSI Trigger Detected', 'Windows Defender Threat Detected'],
      ['Windows Defender Threat Detected'],
      [],
    ]);
  });

  it('resolve rule fields on the Defender events, whatever form EventData takes', () => {
    const rules = [
      ruleText('1', `selection:\n  EventID: 1119\n  ThreatName|startswith: 'HackTool:'\n  ProcessName|endswith: '\\updater.exe'\n  Path|contains: '\\AppData\\Local\\Temp\\'\ncondition: selection`),
      ruleText('2', `selection:\n  ActionName: Quarantine\n  SourceName: AMSI\ncondition: selection`),
      ruleText('3', `selection:\n  EventID: 1116\nfilter:\n  SourceName: AMSI\ncondition: selection and not filter`),
      ruleText('4', `selection:\n  'Threat Name|contains': 'Downloader'\n  SeverityID: 5\ncondition: selection`),
      ruleText('5', `keywords:\n  - 'Mikatz'\ncondition: keywords`),
    ];
    expect(matchesOf(rules, DEFENDER_EVENTS)).toEqual([
      ['Spaced names 4'],
      ['Spaced names 2', 'Spaced names 4'],
      ['Spaced names 1', 'Spaced names 5'],
    ]);
  });
});
