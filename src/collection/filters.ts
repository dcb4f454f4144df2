/**
 * Filter rules (Sigma v2.1 "filters"): a filter applies to a detection rule when it names the rule
 * (id or name, or `any`) and its log source is contained in the rule's (every key the filter sets
 * has the rule's value). Its detection is AND-ed to the rule's (pySigma's reading of the spec), so a
 * filter says `not selection` to exclude. Used by the evaluator and every backend alike.
 */
import * as B from '../ir/build.js';
import type { Node } from '../ir/types.js';
import type { DetectionRule, FilterRule, LogSource } from '../model/types.js';
import type { LoadedRule } from './load.js';

function logSourceContains(filter: LogSource, rule: LogSource): boolean {
  for (const k of ['product', 'category', 'service'] as const) {
    if (filter[k] !== undefined && filter[k] !== rule[k]) return false;
  }
  return true;
}

export function filterApplies(filter: FilterRule, rule: DetectionRule): boolean {
  if (!logSourceContains(filter.logsource, rule.logsource)) return false;
  if (filter.filter.rules === 'any') return true;
  return filter.filter.rules.some((r) => r === rule.id || r === rule.name);
}

/** The IR of each detection rule with the filters that apply to it AND-ed in (same order as `rules`). */
export function effectiveIr(rules: readonly LoadedRule[]): Map<LoadedRule, Node> {
  const out = new Map<LoadedRule, Node>();
  for (const [r, filters] of applyingFilters(rules)) {
    const extra = filters.map((f) => f.ir!);
    out.set(r, extra.length ? B.and([r.ir!, ...extra]) : r.ir!);
  }
  return out;
}

/** Each detection rule that has an IR, with the filters that apply to it (same order as `rules`). */
export function applyingFilters(rules: readonly LoadedRule[]): Map<LoadedRule, LoadedRule[]> {
  const filters = rules.filter((r) => r.rule?.kind === 'filter' && r.ir);
  const out = new Map<LoadedRule, LoadedRule[]>();
  for (const r of rules) {
    if (r.rule?.kind !== 'detection' || !r.ir) continue;
    const rule = r.rule;
    out.set(r, filters.filter((f) => filterApplies(f.rule as FilterRule, rule)));
  }
  return out;
}
