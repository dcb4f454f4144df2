import { existsSync, readFileSync } from 'node:fs';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection, loadText } from '../../src/collection/load.js';
import { compileNode } from '../../src/eval/compile.js';
import { viewOf } from '../../src/eval/shape.js';
import type { DetectionRule } from '../../src/model/types.js';
import type { CompileInput } from '../../src/targets/types.js';
import { SIGMAHQ } from './corpus.js';

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

/** The EventData of a Defender event by name, as the event's log writes it (a Data list read by name). */
export function eventDataOf(raw: Record<string, unknown>): Record<string, unknown> {
  const data = (raw.Event as { EventData: Record<string, unknown> }).EventData;
  if (!Array.isArray(data.Data)) return data;
  return Object.fromEntries((data.Data as { '#attributes': { Name: string }; '#text': unknown }[]).map((d) => [d['#attributes'].Name, d['#text']]));
}

/** The System values of a Defender event that the targets' data carries in their own fields. */
export function systemOf(raw: Record<string, unknown>): { EventID: number; Channel: string; Computer: string; Provider: string } {
  const s = (raw.Event as { System: Record<string, unknown> }).System;
  return { EventID: s.EventID as number, Channel: s.Channel as string, Computer: s.Computer as string, Provider: (s.Provider as { '#attributes': { Name: string } })['#attributes'].Name };
}

/** SPACED_RULES and, when ../shared is there, SigmaHQ's windefend rules, ready to compile. */
export function windefendInputs(): CompileInput[] {
  const loaded = [...SPACED_RULES.flatMap((t, i) => loadText(`spaced-${i + 1}.yml`, t)), ...(existsSync(WINDEFEND) ? loadCollection([WINDEFEND]).rules : [])];
  return [...effectiveIr(loaded)].map(([r, ir]) => ({ path: r.path, rule: r.rule as DetectionRule, ir }));
}

/** The evaluator's verdict: the rule on the event as evtx_dump wrote it. */
export function evaluatorVerdict(input: CompileInput, raw: Record<string, unknown>): boolean {
  return compileNode(input.ir)(viewOf(raw));
}

export const WINDEFEND = `${SIGMAHQ}/windows/builtin/windefend`;
