import { readFileSync } from 'node:fs';

/**
 * Real-shaped Microsoft Defender Antivirus Operational events, as evtx_dump writes them: 1116
 * (detected, AMSI source), 1117 (action taken), 1119 (action failed; EventData as a list of Data
 * elements), 5007 (an exclusion added), 3002 (Network Inspection System error). Their EventData
 * names have spaces (`Threat Name`, `Source Name`, `Process Name`, `New Value`, `Feature Name`).
 */
export const DEFENDER_EVENTS: Record<string, unknown>[] = readFileSync(new URL('../fixtures/evtx/defender.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A windefend rule around a detection block. */
export function windefendRule(n: number, detection: string): string {
  return `title: Spaced names ${n}
id: 00000000-0000-4000-8000-${String(n).padStart(12, '0')}
logsource:
  product: windows
  service: windefend
detection:
${detection.trim().split('\n').map((l) => '  ' + l).join('\n')}
`;
}

/** Rules over the spaced names of DEFENDER_EVENTS, in every form a rule names a field. */
export const SPACED_RULES: string[] = [
  windefendRule(1, `selection:\n  EventID: 1119\n  ThreatName|startswith: 'HackTool:'\n  ProcessName|endswith: '\\updater.exe'\n  Path|contains: '\\AppData\\Local\\Temp\\'\ncondition: selection`),
  windefendRule(2, `selection:\n  ActionName: Quarantine\n  SourceName: AMSI\ncondition: selection`),
  windefendRule(3, `selection:\n  EventID: 1116\nfilter:\n  SourceName: AMSI\ncondition: selection and not filter`),
  windefendRule(4, `selection:\n  'Threat Name|contains': 'Downloader'\n  SeverityID: 5\ncondition: selection`),
  windefendRule(5, `keywords:\n  - 'Mikatz'\ncondition: keywords`),
  windefendRule(6, `selection:\n  Feature_Name: '%%886'\n  FeatureID: 10\n  ErrorCode: '0x80004005'\ncondition: selection`),
  windefendRule(7, `selection:\n  NewValue|contains: '\\Exclusions\\Paths\\'\n  OldValue: ''\ncondition: selection`),
];

/** The titles SPACED_RULES match on each of DEFENDER_EVENTS. */
export const SPACED_EXPECTED: string[][] = [
  ['Spaced names 4'],
  ['Spaced names 2', 'Spaced names 4'],
  ['Spaced names 1', 'Spaced names 5'],
  ['Spaced names 7'],
  ['Spaced names 6'],
];
