/**
 * Defender's spaced EventData names on the sysmon and windows platforms: the windefend queries run over
 * a real-shaped Defender event as XmlWinEventLog extraction gives it to Splunk (each space of a Data
 * name cleaned to `_`: `Threat_Name`), and give the evaluator's verdicts on the same event.
 */
import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../src/targets/spl/parser.js';
import { splTarget } from '../../src/targets/spl/target.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { loadText } from '../../src/collection/load.js';
import { Engine } from '../../src/eval/engine.js';
import type { DetectionRule } from '../../src/model/types.js';
import { DEFENDER_EVENTS, eventDataOf, evaluatorVerdict, systemOf, windefendInputs } from '../helpers/defender.js';
import { runQuery, type SplunkEvent } from './interpret.js';
import { windowsXml } from './model.js';

/** Splunk's fields for the event: source, EventCode, and every Data name with its spaces cleaned to `_`. */
function splunkEventOf(raw: Record<string, unknown>): SplunkEvent {
  const sys = systemOf(raw);
  const data = eventDataOf(raw);
  const fields = new Map<string, string[]>([
    ['source', [`XmlWinEventLog:${sys.Channel}`]],
    ['EventCode', [String(sys.EventID)]],
    ['Computer', [sys.Computer]],
  ]);
  for (const [name, v] of Object.entries(data)) if (v !== '') fields.set(name.replace(/ /g, '_'), [String(v)]);
  return { fields, raw: windowsXml({ EventID: sys.EventID, Channel: sys.Channel, Computer: sys.Computer, ...data }) };
}

describe.each(['sysmon', 'windows'])('spl/%s: windefend over Defender events as Splunk extracts them', (platform) => {
  const opts = { platform, format: 'query', mapping: loadPlatformMapping('spl', platform) };

  it('reads Threat_Name for ThreatName and Threat_Name, as the evaluator does', { timeout: 60_000 }, () => {
    let matched = 0;
    for (const input of windefendInputs()) {
      const r = splTarget.compile(input, opts);
      if (!r.ok) throw new Error(`${input.path}: ${r.error}`);
      const q = parseQuery(r.query);
      for (const raw of DEFENDER_EVENTS) {
        const expected = evaluatorVerdict(input, raw);
        if (expected) matched++;
        expect(runQuery(q, splunkEventOf(raw)), `${input.path} on EventID ${systemOf(raw).EventID}\n${r.query}`).toBe(expected);
      }
    }
    expect(matched).toBeGreaterThanOrEqual(7);
  });
});

describe.each(['sysmon', 'windows'])('spl/%s: antivirus detections', (platform) => {
  it("read Sigma's Signature from Threat_Name, as the evaluator's routing reads ThreatName", () => {
    const text = `title: Downloader detected
logsource:
  category: antivirus
detection:
  selection:
    Signature|contains: 'Downloader'
  condition: selection
`;
    const loaded = loadText('av.yml', text);
    const input = { path: 'av.yml', rule: loaded[0]!.rule as DetectionRule, ir: loaded[0]!.ir! };
    const r = splTarget.compile(input, { platform, format: 'query', mapping: loadPlatformMapping('spl', platform) });
    if (!r.ok) throw new Error(r.error);
    expect(r.query).toContain('Threat_Name="*Downloader*"');
    const { engine } = Engine.fromLoaded(loaded);
    // only 1116: 1117 (action taken) is not one of the antivirus log source's EventIDs
    const expected = DEFENDER_EVENTS.map((e) => engine.matches(e).length > 0);
    expect(expected).toEqual([true, false, false, false, false]);
    expect(DEFENDER_EVENTS.map((e) => runQuery(parseQuery(r.query), splunkEventOf(e)))).toEqual(expected);
  });
});
