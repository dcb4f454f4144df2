/**
 * A correlation rule as the engine runs it: plain data (engine.ts `CorrelationSpec`), built from the
 * model once its references are resolved. Shared by the evaluator and the ts target, which writes
 * the specs into generated bundles.
 */
import { readYamlFile } from '../config/mapping.js';
import type { CorrelationRule } from '../model/types.js';
import type { CorrelationSpec } from './engine.js';

/** A resolved reference: the key the engine knows the rule by, and the id and name aliases may use. */
export interface ResolvedRef {
  key: string;
  id?: string | undefined;
  name?: string | undefined;
}

/**
 * The engine's reading of a correlation rule. `field` renames a Sigma field to the event's name for
 * it (the ts target's `fields` mapping); group names, aliases' fields and `condition.field` go through it.
 */
export function specOf(rule: CorrelationRule, key: string, refs: readonly ResolvedRef[], field: (sigma: string) => string = (f) => f): CorrelationSpec {
  const c = rule.correlation;
  const aliases: Record<string, Record<string, string>> = {};
  for (const [g, m] of c.aliases) aliases[field(g)] = Object.fromEntries([...m].map(([r, f]) => [r, field(f)]));
  const spec: CorrelationSpec = {
    key,
    type: c.type,
    refs: refs.map((r) => r.key),
    refNames: refs.map((r, i) => [...new Set([c.rules[i]!, r.id, r.name].filter((n): n is string => n !== undefined))]),
    groupBy: c.groupBy.map(field),
    aliases,
    timespan: c.timespanSeconds * 1000,
    condition: (c.condition?.ops ?? []).map((o) => ({ op: o.op, value: o.value })),
  };
  if (c.condition?.field !== undefined) spec.field = field(c.condition.field);
  if (c.condition?.percentile !== undefined) spec.percentile = c.condition.percentile;
  return spec;
}

/** The event fields a correlation reads: its group-by names, the fields aliases give them, the aggregated field. */
export function fieldsRead(spec: CorrelationSpec): string[] {
  const out = new Set(spec.groupBy);
  for (const byRef of Object.values(spec.aliases)) for (const f of Object.values(byRef)) out.add(f);
  if (spec.field !== undefined) out.add(spec.field);
  return [...out];
}

/** The time fields of backends/eval/time-fields.yml, by event shape. */
export interface TimeFields {
  windows: string[];
  flat: string[];
}

let defaultTimeFields: TimeFields | undefined;

const TIME_FILE = new URL('../../backends/eval/time-fields.yml', import.meta.url);

export function timeFields(): TimeFields {
  if (defaultTimeFields) return defaultTimeFields;
  const data = readYamlFile(TIME_FILE) as Partial<Record<keyof TimeFields, unknown>> | null;
  const list = (k: keyof TimeFields): string[] => {
    const v = data?.[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${TIME_FILE.pathname}: '${k}' must be a list of field names`);
    return v as string[];
  };
  defaultTimeFields = { windows: list('windows'), flat: list('flat') };
  return defaultTimeFields;
}

