import { loadText, type LoadedRule } from '../../src/collection/load.js';
import type { Node } from '../../src/ir/types.js';

/** A complete rule document around a detection block (YAML text, indented by the caller's layout). */
export function ruleYaml(detection: string, extra = ''): string {
  const body = detection
    .trim()
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
  return `title: Test rule
id: 5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40
logsource:
  product: windows
  category: process_creation
${extra}detection:
${body}
`;
}

export function load(text: string, path = 'test.yml'): LoadedRule {
  const rules = loadText(path, text);
  if (rules.length !== 1) throw new Error(`expected one document, got ${rules.length}`);
  return rules[0]!;
}

/** Lower a detection block; fails the test with the diagnostics when it does not lower. */
export function irOf(detection: string, extra = ''): Node {
  const r = load(ruleYaml(detection, extra));
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r.ir) throw new Error('rule did not lower: ' + JSON.stringify(errors));
  return r.ir;
}

/** The error diagnostics of a detection block (or whole document when `whole`). */
export function errorsOf(text: string): { message: string; line: number; column: number; code: string }[] {
  return load(text).diagnostics.filter((d) => d.severity === 'error');
}
