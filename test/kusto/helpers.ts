/** Compile small rule texts with the Kusto target, for rendering and failure tests. */
import { loadText } from '../../src/collection/load.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import type { DetectionRule } from '../../src/model/types.js';
import { kustoTarget } from '../../src/targets/kusto/target.js';
import type { CompileInput, CompileResult } from '../../src/targets/types.js';

const mappings = new Map<string, unknown>();

export function mappingOf(platform: string): unknown {
  let m = mappings.get(platform);
  if (!m) mappings.set(platform, (m = loadPlatformMapping('kusto', platform)));
  return m;
}

/** A rule document: `logsource` and `detection` as YAML blocks (detection indented under the key). */
export function rule(logsource: string, detection: string, extra = ''): string {
  const det = detection.trim().split('\n').map((l) => `  ${l}`).join('\n');
  return `title: Test rule\nid: 5f1b7a1e-6d0e-4f7b-8a2a-0d6c1c2b3a40\nlogsource: ${logsource}\n${extra}detection:\n${det}\n`;
}

export function inputOf(text: string): CompileInput {
  const [r] = loadText('test.yml', text);
  const errors = r!.diagnostics.filter((d) => d.severity === 'error');
  if (!r!.ir || errors.length) throw new Error(`rule did not load: ${JSON.stringify(errors)}`);
  return { path: 'test.yml', rule: r!.rule as DetectionRule, ir: r!.ir };
}

export function compile(text: string, platform = 'sentinel', format = 'query', mapping = mappingOf(platform)): CompileResult {
  return kustoTarget.compile(inputOf(text), { platform, format, mapping });
}

/** The query, or the test fails with the reason. */
export function kql(text: string, platform = 'sentinel'): string {
  const r = compile(text, platform);
  if (!r.ok) throw new Error(`did not compile: ${r.error}`);
  return r.query;
}

export const PROC = '{product: windows, category: process_creation}';
