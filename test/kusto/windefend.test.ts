/**
 * Defender's spaced EventData names on Sentinel: the windefend queries run over WindowsEvent rows as
 * the Azure Monitor Agent stores a real-shaped Defender event (EventData keeps the names as written,
 * `Threat Name`), and give the evaluator's verdicts on the same event.
 */
import { describe, expect, it } from 'vitest';
import { compileKustoQuery, kustoTarget } from '../../src/targets/kusto/target.js';
import type { CompileInput } from '../../src/targets/types.js';
import { DEFENDER_EVENTS, eventDataOf, evaluatorVerdict, systemOf, windefendInputs } from '../helpers/defender.js';
import { mappingOf } from './helpers.js';
import { compileKql } from './interpreter.js';
import { rowFor } from './rows.js';

const opts = { platform: 'sentinel', format: 'query', mapping: mappingOf('sentinel') };

function queryOf(input: CompileInput): string {
  const r = kustoTarget.compile(input, opts);
  if (!r.ok) throw new Error(`${input.path}: ${r.error}`);
  return r.query;
}

describe('kusto/sentinel: windefend over Defender events as WindowsEvent stores them', { timeout: 60_000 }, () => {
  it("reads EventData['Threat Name'] for ThreatName and Threat_Name, as the evaluator does", () => {
    let matched = 0;
    for (const input of windefendInputs()) {
      const query = queryOf(input);
      const { view } = compileKustoQuery(input, opts);
      const q = compileKql(query);
      for (const raw of DEFENDER_EVENTS) {
        const { row, now } = rowFor({}, view, input.rule.logsource, 'sentinel');
        const sys = systemOf(raw);
        Object.assign(row, { EventID: sys.EventID, Channel: sys.Channel, Computer: sys.Computer, Provider: sys.Provider, EventData: { dyn: eventDataOf(raw) } });
        const expected = evaluatorVerdict(input, raw);
        if (expected) matched++;
        expect(q.run(row, now), `${input.path} on EventID ${sys.EventID}\n${query}`).toBe(expected);
      }
    }
    expect(matched).toBeGreaterThanOrEqual(7);
  });

  it('renders the spaced name as a bag key', () => {
    const input = windefendInputs().find((i) => i.rule.title === 'Spaced names 6')!;
    expect(queryOf(input)).toContain('tostring(EventData["Feature Name"])');
  });
});
