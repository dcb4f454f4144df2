import { describe, expect, it } from 'vitest';
import { equivalenceCases, runEquivalence } from '../harness/equivalence.js';
import { kustoBackend } from './backend.js';

/**
 * Every rule of rules/ against every fixture event of its log source: the emitted KQL, parsed by
 * Kusto.Language and interpreted over the row each platform stores, must give the evaluator's verdict.
 */
describe('Kusto equivalence with the evaluator', () => {
  const cases = equivalenceCases();

  for (const platform of ['sentinel', 'defender-xdr']) {
    it(`kusto/${platform}: every compiled rule agrees on every fixture`, () => {
      const backend = kustoBackend(platform);
      const mismatches = runEquivalence(backend, cases).filter((m) => !String(m.backend).startsWith('did not compile'));
      expect(mismatches).toEqual([]);
    }, 60_000);
  }

  // Each pinned source is its own rendering of the same rules: the Security log's 4688 events, the
  // Sysmon channel of WindowsEvent, the Defender tables alone, the ASIM parser _Im_ProcessCreate.
  for (const source of ['security-event', 'sysmon', 'defender', 'asim']) {
    it(`kusto/sentinel pinned to ${source}: the rules it compiles agree on every fixture, and read only that source`, () => {
      const backend = kustoBackend('sentinel', { source });
      const mine = cases.filter((c) => {
        const r = backend.compile(c.input);
        if (r.ok) expect(r.source?.name, c.rule).toBe(source);
        return r.ok;
      });
      expect(new Set(mine.map((c) => c.rule)).size).toBeGreaterThanOrEqual({ 'security-event': 2, asim: 4 }[source] ?? 5);
      expect(runEquivalence(backend, mine)).toEqual([]);
    }, 60_000);
  }

  it('on Sentinel every rule of rules/ compiles, and its fixtures reach both verdicts', () => {
    const backend = kustoBackend('sentinel');
    const byRule = new Map<string, Set<boolean>>();
    for (const c of cases) {
      expect(backend.compile(c.input).ok, c.rule).toBe(true);
      byRule.set(c.rule, (byRule.get(c.rule) ?? new Set()).add(c.expected));
    }
    expect(byRule.size).toBeGreaterThanOrEqual(8);
    for (const [rule, verdicts] of byRule) expect(verdicts.size, rule).toBe(2);
  });

  it('on Defender XDR only the rules it has no exact reading for are left out', () => {
    const backend = kustoBackend('defender-xdr');
    const failed = new Set(cases.filter((c) => !backend.compile(c.input).ok).map((c) => c.rule.replace(/^.*\/rules\//, '')));
    expect([...failed].sort()).toEqual([
      // The Security log is not in Defender XDR's advanced hunting tables.
      'correlation/win_security_account_created.yml',
      'correlation/win_security_failed_logon.yml',
      'correlation/win_security_member_added_to_admins.yml',
      'correlation/win_security_successful_logon.yml',
      'web/proxy_powershell_webdav_download.yml',
      'web/web_exchange_owa_calendar_exploit.yml',
      'windows/registry_set_win_run_key_script.yml',
      'windows/win_system_susp_keywords.yml',
    ]);
  });
});
