import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importKusto } from '../../src/import/kusto/index.js';
import { roundTrip, type RoundTripCase } from './roundtrip.js';

/**
 * Round trips on the equivalence harness (test/import/roundtrip.ts): the original KQL, the KQL rulec
 * builds from the imported rule, and the evaluator on it select the same generated events.
 */

const SEED = new URL('../../../shared/seed/custom-script-extension-executable-drop.kql', import.meta.url);
const RUNS = 1200;

function imported(name: string, kql: string, fields: 'native' | 'sigma' = 'native'): RoundTripCase {
  const r = importKusto(`${name}.kql`, kql, { fields });
  if (!r.ok) throw new Error(`${name}: not imported: ${r.error}`);
  return { name, kql, rule: r.rule, platform: 'sentinel' };
}

function expectAgreement(c: RoundTripCase): void {
  const r = roundTrip(c, RUNS);
  expect(r.disagreement, `${c.name}\nbuilt:\n${r.built}`).toBeUndefined();
  expect(r.events).toBeGreaterThanOrEqual(1000);
  // Both verdicts are reached often enough to mean something.
  expect(r.selected, c.name).toBeGreaterThan(50);
  expect(r.rejected, c.name).toBeGreaterThan(50);
}

describe('round trip: original KQL = rulec-built KQL = evaluator on generated events', () => {
  it('the seed, imported in native mode', () => {
    expectAgreement(imported('seed', readFileSync(SEED, 'utf8')));
  }, 120_000);

  it('array indexes into a dynamic column (AuditLogs TargetResources[0], nested indexes), in native mode', () => {
    const kql = [
      'AuditLogs',
      '| where OperationName in ("Add member to role", "Add user")',
      '| extend Role = tostring(TargetResources[0].displayName)',
      '| where Role contains "admin" or tostring(TargetResources[1].modifiedProperties[0].newValue) has "Global"',
    ].join('\n');
    expectAgreement(imported('indexes', kql));
  }, 120_000);

  it('the operators the importer lifts, in native mode', () => {
    const kql = [
      'let names = dynamic(["powershell.exe", "pwsh.exe"]);',
      'DeviceProcessEvents',
      '| where TimeGenerated > ago(1h)',
      '| where ActionType == "ProcessCreated"',
      '| where FileName in~ (names) or FolderPath !endswith_cs @"\\Temp\\x.exe"',
      '| where InitiatingProcessFileName !~ "explorer.exe" or ProcessId between (4 .. 60000)',
      '| where ProcessCommandLine has_any ("-enc", "encodedcommand") or ProcessCommandLine contains_cs "FromBase64String"',
      '    or (ProcessCommandLine has_all ("iex", "net.webclient") and not(ProcessCommandLine startswith "cmd"))',
    ].join('\n');
    expectAgreement(imported('operators', kql));
  }, 120_000);

  it('a sigma-field rule (written by hand from the reverse mapping) agrees with the native query on Defender columns', () => {
    const kql = [
      'DeviceProcessEvents',
      '| where ActionType == "ProcessCreated"',
      '| where FileName in~ ("powershell.exe", "pwsh.exe")',
      '| where ProcessCommandLine has_any ("-enc", "encodedcommand") or ProcessCommandLine contains "FromBase64String"',
      '| where InitiatingProcessFileName !~ "explorer.exe"',
    ].join('\n');
    const rule = [
      'title: Encoded PowerShell',
      'id: 8d3a8f1e-3c1b-4b7a-9a55-2f7d1c0e9b10',
      'logsource: {product: windows, category: process_creation}',
      'detection:',
      "  sel_img: {Image|endswith: ['\\powershell.exe', '\\pwsh.exe']}",
      "  sel_enc: {CommandLine|has: ['-enc', 'encodedcommand']}",
      '  sel_b64: {CommandLine|contains: FromBase64String}',
      "  filter: {ParentImage|endswith: '\\explorer.exe'}",
      '  condition: sel_img and (sel_enc or sel_b64) and not filter',
    ].join('\n');
    expectAgreement({ name: 'sigma-fields', kql, rule, platform: 'defender-xdr' });
  }, 120_000);

  it('finds the mistranslation of has as contains (a harness that cannot fail would pass this)', () => {
    const kql = 'DeviceProcessEvents\n| where ProcessCommandLine has "enc"';
    const good = imported('has', kql);
    const wrong = { ...good, name: 'has-as-contains', rule: good.rule.replace('ProcessCommandLine|has: enc', 'ProcessCommandLine|contains: enc') };
    expect(wrong.rule).not.toBe(good.rule);
    const r = roundTrip(wrong, RUNS);
    expect(r.disagreement).toBeDefined();
    expect(r.disagreement!.original).toBe(false);
    expect(r.disagreement!.evaluator).toBe(true);
  }, 120_000);
});
