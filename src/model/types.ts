/**
 * The rule model: Sigma v2.1 as written (a rule reads back unchanged) plus rulec's documented
 * extensions (parameters, schedule, output, tests). The model keeps modifiers and values as the
 * author wrote them; their meaning is decided once, in `lower/`.
 */
import type { Position } from '../diag/diagnostic.js';

export interface LogSource {
  product?: string;
  category?: string;
  service?: string;
  definition?: string;
}

export interface RelatedRule {
  id: string;
  type: string;
}

/** Metadata shared by detection, correlation and filter documents. */
export interface RuleMeta {
  title: string;
  id?: string;
  name?: string;
  status?: string;
  description?: string;
  references?: string[];
  author?: string;
  date?: string;
  modified?: string;
  tags: string[];
  level?: string;
  falsepositives?: string[];
  fields?: string[];
  related?: RelatedRule[];
  scope?: string[];
  taxonomy?: string;
  license?: string;
  /** Position of the document's first key. */
  at: Position;
}

/** A scalar value as written in a detection, with its YAML type preserved. */
export type RawValue =
  | { type: 'string'; value: string; at: Position }
  | { type: 'number'; value: number; text: string; at: Position }
  | { type: 'boolean'; value: boolean; at: Position }
  | { type: 'null'; at: Position };

/** `Field|mod1|mod2: values` (field null for a field-less key such as `'|all'` or `'|re'`). */
export interface FieldItem {
  field: string | null;
  modifiers: { name: string; at: Position }[];
  values: RawValue[];
  /** True when the values were written as a YAML list (a single-element list is still a list). */
  isList: boolean;
  at: Position;
}

/** A selection: a map is AND of its items; a list of maps is OR of those ANDs. */
export type SearchIdentifier =
  | { kind: 'maps'; maps: FieldItem[][]; at: Position }
  | { kind: 'keywords'; item: FieldItem; at: Position };

export type Condition =
  | { kind: 'and' | 'or'; children: Condition[]; at: Position }
  | { kind: 'not'; child: Condition; at: Position }
  | { kind: 'ref'; name: string; at: Position }
  | { kind: 'quantified'; quantifier: 'one' | 'all'; pattern: string; at: Position };

export interface Detection {
  searches: Map<string, SearchIdentifier>;
  /** One parsed condition per element of `condition` (a list is an OR of its elements). */
  conditions: Condition[];
  conditionSource: string[];
  /** Legacy Sigma v1 `timeframe`, kept for correlation-aware targets. */
  timeframe?: string;
}

export interface Parameter {
  name: string;
  description?: string;
  values: RawValue[];
  at: Position;
}

/** Where a schedule can be overridden: a target, or one of the products a target deploys to. */
export const SCHEDULE_SCOPES = ['kusto', 'sentinel', 'defender-xdr', 'eql', 'spl'] as const;
export type ScheduleScope = (typeof SCHEDULE_SCOPES)[number];

export interface ScheduleTimes {
  /** How often the query runs, as `<n><s|m|h|d>`, or `continuous` (near real time, where a product offers it). */
  frequency?: string;
  /** How far back each run looks. */
  lookback?: string;
}

export interface Schedule extends ScheduleTimes {
  /** Per-target or per-product values, over the ones above (`schedule.defender-xdr.frequency`). */
  overrides: Partial<Record<ScheduleScope, ScheduleTimes>>;
  at: Position;
}

export interface RuleTest {
  name?: string;
  event: Record<string, unknown>;
  match: boolean;
  at: Position;
}

/**
 * rulec extension `native:`: the rule's field names are the columns of one table of one target's
 * platform (a rule imported with `rulec import --fields native`), not Sigma taxonomy names. Only
 * that target compiles it; the evaluator reads the columns by name, dotted names as paths into
 * nested objects.
 */
export interface NativeColumns {
  target: 'kusto';
  platform: string;
  table: string;
  at: Position;
}

export interface DetectionRule extends RuleMeta {
  kind: 'detection';
  /** Field names are native columns of this table (`native:`), not Sigma fields. */
  native?: NativeColumns;
  logsource: LogSource;
  /** Where the log source's product, category and service are written (absent for rules built in code). */
  logsourceAt?: Partial<Record<'product' | 'category' | 'service', Position>>;
  detection: Detection;
  parameters: Map<string, Parameter>;
  schedule?: Schedule;
  /** Fields the rule emits when it matches (Sentinel entity columns, custom details). */
  output: string[];
  tests: RuleTest[];
}

export const CORRELATION_TYPES = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
  'value_median',
] as const;
export type CorrelationType = (typeof CORRELATION_TYPES)[number];

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';

/** An expected hit of a correlation test: its group, its evaluation point (window end), its value if given. */
export interface ExpectedHit {
  group: Record<string, string>;
  /** The window end as written, and in ms since the epoch. */
  end: string;
  endMs: number;
  value?: number;
  at: Position;
}

/** rulec extension: a correlation's inline test, a stream of events in time order and exactly the hits it gives. */
export interface CorrelationTest {
  name?: string;
  events: Record<string, unknown>[];
  hits: ExpectedHit[];
  at: Position;
}

export interface CorrelationRule extends RuleMeta {
  kind: 'correlation';
  tests: CorrelationTest[];
  correlation: {
    type: CorrelationType;
    rules: string[];
    groupBy: string[];
    timespan: string;
    timespanSeconds: number;
    /** `percentile`: value_percentile's percentile (0-100], a rulec addition the Sigma specification lacks. */
    condition?: { ops: { op: CompareOp; value: number }[]; field?: string; percentile?: number };
    aliases: Map<string, Map<string, string>>;
    generate: boolean;
  };
}

export interface FilterRule extends RuleMeta {
  kind: 'filter';
  logsource: LogSource;
  filter: {
    /** Rule ids or names the filter applies to; `any` applies to every rule of the log source. */
    rules: string[] | 'any';
    detection: Detection;
  };
}

export type RuleDocument = DetectionRule | CorrelationRule | FilterRule;

/** One parsed file: its documents, in order, with the path they came from. */
export interface LoadedDocument {
  path: string;
  /** Index of the YAML document within the file (0-based). */
  index: number;
  rule: RuleDocument;
}
