import { describe, expect, it } from 'vitest';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { platformMapping, resolveLogSource } from '../../src/targets/spl/mapping.js';
import { parseQuery } from '../../src/targets/spl/parser.js';
import { PLATFORMS, splTarget } from '../../src/targets/spl/target.js';
import type { CompileInput } from '../../src/targets/types.js';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { runQuery } from './interpret.js';
import { splunkEvent } from './model.js';

const cases = equivalenceCases();

/** Rules of rules/ a platform cannot map, with the reason: the Sysmon-only event types on windows, and data models on cim. */
const EXPECTED_MAPPING_FAILURES: Record<string, RegExp> = {
  'windows:rules/network/net_connection_win_suspicious_destination.yml': /only Sysmon writes network_connection/,
  'windows:rules/seed/custom_script_extension_executable_drop.yml': /only Sysmon writes file_event/,
  'cim:rules/network/net_connection_win_suspicious_destination.yml': /no CIM data model/,
  'cim:rules/seed/custom_script_extension_executable_drop.yml': /field 'FileType' has no mapping for data model Endpoint.Filesystem/,
  'cim:rules/windows/proc_creation_win_off_hours_admin_tool.yml': /field 'UtcTime' has no mapping for data model Endpoint.Processes/,
  'cim:rules/windows/registry_set_win_run_key_script.yml': /field 'RegistryValueFlags' has no mapping/,
  'cim:rules/windows/win_system_susp_keywords.yml': /no CIM data model/,
  'cim:rules/correlation/win_security_account_created.yml': /no CIM data model/,
  'cim:rules/correlation/win_security_failed_logon.yml': /no CIM data model/,
  'cim:rules/correlation/win_security_member_added_to_admins.yml': /no CIM data model/,
  'cim:rules/correlation/win_security_successful_logon.yml': /no CIM data model/,
};

describe.each(PLATFORMS)('SPL equivalence with the evaluator, platform %s', (platform) => {
  const mapping = loadPlatformMapping('spl', platform);
  const pm = platformMapping(mapping, platform);
  const compile = (input: CompileInput) => splTarget.compile(input, { platform, format: 'query', mapping });
  const rel = (p: string) => p.slice(p.indexOf('rules/'));
  const compiles = (c: (typeof cases)[number]) => !(`${platform}:${rel(c.rule)}` in EXPECTED_MAPPING_FAILURES);

  it('agrees with the evaluator on every rule and fixture', () => {
    const mine = cases.filter(compiles);
    expect(mine.length).toBeGreaterThan(platform === 'cim' ? 20 : 100);
    const mismatches = runEquivalence(
      {
        name: `spl/${platform}`,
        compile,
        verdict(query, fixture, input) {
          const entry = resolveLogSource(pm, input.rule.logsource);
          return runQuery(parseQuery(query), splunkEvent(fixture.event, pm, entry));
        },
      },
      mine,
    );
    expect(mismatches).toEqual([]);
  });

  it('refuses exactly the expected rules, with mapping errors that say why', () => {
    const seen = new Set<string>();
    for (const c of cases) {
      const key = `${platform}:${rel(c.rule)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const r = compile(c.input);
      const expected = EXPECTED_MAPPING_FAILURES[key];
      if (expected) {
        expect(r.ok, key).toBe(false);
        if (!r.ok) {
          expect(r.kind, key).toBe('mapping');
          expect(r.error, key).toMatch(expected);
        }
      } else expect(r.ok, `${key}: ${r.ok ? '' : r.error}`).toBe(true);
    }
  });
});
