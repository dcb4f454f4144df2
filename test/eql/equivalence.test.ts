import { describe, expect, it } from 'vitest';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { eqlPlatform } from './helpers.js';

/**
 * Rules of rules/ that EQL cannot express, with the reason the target must give. Everything else
 * must compile and agree with the evaluator on every fixture event of its log source.
 */
const NOT_EXPRESSIBLE: Record<string, Record<string, RegExp>> = {
  ecs: {
    'proc_creation_win_off_hours_admin_tool.yml': /compares a part of a timestamp/,
    'registry_set_win_run_key_script.yml': /compares two fields, which EQL cannot do/,
    'win_system_susp_keywords.yml': /keyword \(field-less\) search is not expressible/,
  },
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
/** A mixed folder (Windows, Linux, macOS, web server, proxy, DNS, firewall, cloud) for the routing platform ecs. */
const MIXED = new URL('../fixtures/eql-ecs-rules', import.meta.url).pathname;

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

  it('on events where the shipped approximation (fold_kelvin_sign: false) cannot show: none holds a KELVIN SIGN', () => {
    // A KELVIN SIGN in an event would need the model of differential.test.ts, which pins the difference.
    expect(cases.filter((c) => JSON.stringify(c.fixture.event).includes('\u212a')).map((c) => c.fixture.source)).toEqual([]);
  });
});

describe('EQL ecs routes a mixed folder and agrees with the evaluator on every platform it routes to', () => {
  const p = eqlPlatform('ecs');
  const mixed = equivalenceCases(MIXED);
  const mismatches = runEquivalence(
    { name: 'eql/ecs', compile: (input) => p.compile(input), verdict: (query, fixture) => p.verdict(query, fixture.event, fixture.logsource) },
    mixed,
  );

  it('compiles every rule and matches exactly where the evaluator does', () => {
    expect(mismatches).toEqual([]);
  });

  it('has matching and non-matching events for every rule', () => {
    for (const rule of new Set(mixed.map((c) => c.rule))) {
      const verdicts = new Set(mixed.filter((c) => c.rule === rule).map((c) => c.expected));
      expect([...verdicts].sort(), rule).toEqual([false, true]);
    }
  });
});
