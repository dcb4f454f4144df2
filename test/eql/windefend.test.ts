/**
 * Defender's spaced EventData names on ecs-windows: the windefend queries run over documents as
 * Winlogbeat / Elastic Agent store a real-shaped Defender event (winlog.event_data keeps the names as
 * written, `Threat Name`), and give the evaluator's verdicts on the same event.
 */
import { describe, expect, it } from 'vitest';
import { Platform } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { DEFENDER_EVENTS, eventDataOf, evaluatorVerdict, systemOf, windefendInputs } from '../helpers/defender.js';
import { eqlPlatform } from './helpers.js';
import { evaluate, type Doc } from './interpret.js';

/** The document Winlogbeat writes for the event: System values in winlog.* and event.code, EventData as named. */
function winlogbeatDoc(raw: Record<string, unknown>): Doc {
  const sys = systemOf(raw);
  const doc: Doc = new Map([
    ['winlog.channel', [sys.Channel]],
    ['winlog.provider_name', [sys.Provider]],
    ['winlog.computer_name', [sys.Computer]],
    ['event.code', [String(sys.EventID)]],
  ]);
  for (const [name, v] of Object.entries(eventDataOf(raw))) doc.set(`winlog.event_data.${name}`, v === '' ? [] : [String(v)]);
  return doc;
}

describe('eql/ecs-windows: windefend over Defender events as Winlogbeat stores them', { timeout: 60_000 }, () => {
  const { platform: p, compile } = eqlPlatform('ecs-windows');
  // ecs-windows is a platform of its own, not a router.
  if (!(p instanceof Platform)) throw new Error('ecs-windows should be a Platform');
  const platform = p;

  it('reads winlog.event_data.`Threat Name` for ThreatName and Threat_Name, as the evaluator does', () => {
    let matched = 0;
    for (const input of windefendInputs()) {
      const r = compile(input);
      if (!r.ok) {
        // EQL has no keyword search: refused with the reason, as on every Windows log source
        expect(`${input.rule.title}: ${r.error}`).toMatch(/^Spaced names 5: a keyword \(field-less\) search is not expressible/);
        continue;
      }
      const { query, diagnostics } = checkEql(r.query, { knows: (f) => platform.knows(f) });
      expect(diagnostics, r.query).toEqual([]);
      for (const raw of DEFENDER_EVENTS) {
        const expected = evaluatorVerdict(input, raw);
        if (expected) matched++;
        expect(evaluate(query!, winlogbeatDoc(raw), platform), `${input.path} on EventID ${systemOf(raw).EventID}\n${r.query}`).toBe(expected);
      }
    }
    expect(matched).toBeGreaterThanOrEqual(7);
  });

  it('quotes the spaced segment with backticks', () => {
    const input = windefendInputs().find((i) => i.rule.title === 'Spaced names 6')!;
    const r = compile(input);
    expect(r.ok && r.query).toContain('winlog.event_data.`Feature Name` : "%%886"');
  });
});
