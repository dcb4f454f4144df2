import { describe, expect, it } from 'vitest';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { eqlPlatform } from './helpers.js';

/**
 * Rules of rules/ that EQL cannot express, with the reason the target must give. Everything else
 * must compile and agree with the evaluator on every fixture event of its log source.
 */
const NOT_EXPRESSIBLE: Record<string, Record<string, RegExp>> = {
  'ecs-windows': {
    'proc_creation_win_off_hours_admin_tool.yml': /compares a part of a timestamp/,
    'registry_set_win_run_key_script.yml': /compares two fields, which EQL cannot do/,
    'win_system_susp_keywords.yml': /keyword \(field-less\) search is not expressible/,
    'web_exchange_owa_calendar_exploit.yml': /log source \{category: webserver\} is not one platform ecs-windows serves/,
    'proxy_powershell_webdav_download.yml': /log source \{category: proxy\} is not one platform ecs-windows serves/,
  },
  raw: {
    'proc_creation_win_off_hours_admin_tool.yml': /compares a part of a timestamp/,
    'registry_set_win_run_key_script.yml': /compares two fields, which EQL cannot do/,
    'win_system_susp_keywords.yml': /keyword \(field-less\) search is not expressible/,
    // raw documents hold DestinationIp as text, and IPv6 networks have no exact text pattern
    'net_connection_win_suspicious_destination.yml': /IPv6 network .* cannot be matched against 'DestinationIp', a text field/,
    'proxy_powershell_webdav_download.yml': /'sc-status\|lt: 400' needs a numeric comparison, but 'sc-status' is a keyword field/,
  },
};

const cases = equivalenceCases();

describe.each(Object.keys(NOT_EXPRESSIBLE))('EQL %s agrees with the evaluator', (name) => {
  const p = eqlPlatform(name);
  const mismatches = runEquivalence(
    { name: `eql/${name}`, compile: (input) => p.compile(input), verdict: (query, fixture) => p.verdict(query, fixture.event, fixture.logsource) },
    cases,
  );

  it('on every fixture event of every rule it compiles', () => {
    const real = mismatches.filter((m) => typeof m.backend !== 'string' || !m.backend.startsWith('did not compile'));
    expect(real).toEqual([]);
  });

  it('and refuses exactly the rules EQL cannot express, saying why', () => {
    const refused = new Map<string, string>();
    for (const m of mismatches) {
      if (typeof m.backend === 'string' && m.backend.startsWith('did not compile')) refused.set(m.rule.split('/').pop()!, m.backend);
    }
    const expected = NOT_EXPRESSIBLE[name]!;
    expect([...refused.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [rule, why] of refused) expect(why, rule).toMatch(expected[rule]!);
  });

  it('exercises many cases', () => {
    expect(cases.length).toBeGreaterThan(100);
  });
});
