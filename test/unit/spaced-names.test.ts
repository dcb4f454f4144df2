/**
 * Windows EventData names with spaces (Microsoft Defender Antivirus writes `Threat Name`, `Source
 * Name`, `Process Name`; Sigma rules say `ThreatName`, `SourceName`, `ProcessName`): the evaluator
 * resolves a rule field to the name without spaces (docs/semantics.md section 1).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection, loadText } from '../../src/collection/load.js';
import { Engine } from '../../src/eval/engine.js';
import { eventFields, flattenEvent } from '../../src/eval/shape.js';
import { SIGMAHQ } from '../helpers/corpus.js';
import { DEFENDER_EVENTS, SPACED_EXPECTED, SPACED_RULES } from '../helpers/defender.js';

const WINDEFEND = `${SIGMAHQ}/windows/builtin/windefend`;

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
  it('are also read without their spaces and with _ for them, every spelling holding the value', () => {
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
    expect(e1119).toMatchObject({ EventID: 1119, ThreatName: 'HackTool:Win64/Mikatz!dha', ErrorCode: '0x80508023', 'Error Code': '0x80508023', Error_Code: '0x80508023' });
    // Space-less names come after every name of the event (the event's own names keep their order).
    const keys = Object.keys(e1116!);
    expect(keys.indexOf('ThreatName')).toBeGreaterThan(keys.indexOf('Engine Version'));
    expect(e1116!.Threat_Name).toBe(e1116!.ThreatName);
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
      Threat_Name: 'spaced',
      SourceName: 'first',
      Source__Name: 'first',
      Sou_rceName: 'second',
      _: 'blank',
      ProcessName: 'from UserData',
      Process_Name: 'from UserData',
      Event_ID: 'not System',
    });
    // Exact names beside Event win too (EventID from System already holds `EventID`).
    expect(flattenEvent({ Event: { System: { EventID: 1 }, EventData: { 'Threat Name': 'spaced' } }, ThreatName: 'top' }).ThreatName).toBe('top');
    // A flat event is taken as it is.
    expect([...eventFields({ 'Threat Name': 'x' }).keys()]).toEqual(['Threat Name']);
  });

  it("let SigmaHQ's windefend rules match real-shaped Defender 1116, 1117, 1119, 5007 and 3002 events", () => {
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
      ['Windows Defender Exclusions Added'],
      // win_defender_real_time_protection_errors's filter (Feature_Name, Reason) leaves this error out
      [],
    ]);
  });

  it('resolve rule fields on the Defender events, whatever form EventData takes', () => {
    expect(matchesOf(SPACED_RULES, DEFENDER_EVENTS)).toEqual(SPACED_EXPECTED);
  });
});
