/**
 * Deployable Microsoft content from a compiled query: the Sentinel analytic rule YAML, the Sentinel
 * ARM template of a scheduled rule, and the Defender XDR custom detection (Graph JSON). The layout
 * lives in the handlebars templates of backends/kusto/templates/; this module computes the values
 * and enforces the vendors' constraints (target-semantics.md section 4), failing the rule with the
 * constraint it breaks rather than emitting content the vendor rejects.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { compactName, leftOut, placeTechniques, ruleAttack } from '../../attack/index.js';
import { backendFile } from '../../config/mapping.js';
import { durationMinutes, scheduleFor } from '../schedule.js';
import type { CompileInput } from '../types.js';
import { TargetFailure } from '../types.js';
import { columnNameFor } from './dialect.js';
import type { CorrelationRule } from '../../model/types.js';
import type { KustoMapping, View } from './mapping.js';
import type { CompiledKusto } from './target.js';

export type ArtifactFormat = 'sentinel-yaml' | 'sentinel-arm' | 'defender-json';

export const FORMAT_PLATFORM: Record<ArtifactFormat, string> = {
  'sentinel-yaml': 'sentinel',
  'sentinel-arm': 'sentinel',
  'defender-json': 'defender-xdr',
};

const EXT: Record<ArtifactFormat, string> = { 'sentinel-yaml': 'yaml', 'sentinel-arm': 'json', 'defender-json': 'json' };

const SENTINEL_SEVERITY: Record<string, string> = { informational: 'Informational', low: 'Low', medium: 'Medium', high: 'High', critical: 'High' };
const DEFENDER_SEVERITY: Record<string, string> = { informational: 'informational', low: 'low', medium: 'medium', high: 'high', critical: 'high' };
/**
 * Defender custom detection frequencies in minutes -> Graph `schedule.period`, and how far back each
 * run looks (fixed by Defender: "Rule frequency" in the custom detection docs).
 */
const DEFENDER_PERIOD = new Map<number, { period: string; lookback: number }>([
  [60, { period: '1H', lookback: 4 * 60 }],
  [180, { period: '3H', lookback: 12 * 60 }],
  [720, { period: '12H', lookback: 48 * 60 }],
  [1440, { period: '24H', lookback: 30 * 1440 }],
]);
/** Defender's required columns: these two and one entity column (docs "Required columns"). */
const DEFENDER_ENTITY_COLUMNS = [
  'DeviceId', 'DeviceName', 'RemoteDeviceName', 'RecipientEmailAddress', 'SenderFromAddress', 'SenderMailFromAddress', 'RecipientObjectId',
  'AccountObjectId', 'AccountSid', 'AccountUpn', 'InitiatingProcessAccountSid', 'InitiatingProcessAccountUpn', 'InitiatingProcessAccountObjectId',
];
const DEFENDER_ASSET_TYPE: Record<string, string> = {
  DeviceId: 'impactedDeviceAsset', DeviceName: 'impactedDeviceAsset', RemoteDeviceName: 'impactedDeviceAsset',
  RecipientEmailAddress: 'impactedMailboxAsset', SenderFromAddress: 'impactedMailboxAsset', SenderMailFromAddress: 'impactedMailboxAsset',
};

const templates = new Map<ArtifactFormat, HandlebarsTemplateDelegate>();
const hb = Handlebars.create();
hb.registerHelper('json', (v: unknown) => JSON.stringify(v ?? null));
hb.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
/** A YAML scalar on one line: a JSON string is a valid YAML double-quoted scalar. */
hb.registerHelper('str', (v: unknown) => JSON.stringify(String(v ?? '')));
/** A YAML literal block (`|`) indented by `n`, the query as it reads; JSON text if a line could not be held raw. */
hb.registerHelper('block', (v: unknown, n: number) => {
  const text = String(v);
  const lines = text.replace(/\n$/, '').split('\n');
  // eslint-disable-next-line no-control-regex
  // A literal block keeps every character; it cannot start with an indented line, and trailing
  // blanks would be invisible in review.
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufeff]/.test(text) || /^\s/.test(lines[0]!) || lines.some((l) => /^\t|\s$/.test(l))) return JSON.stringify(text);
  return `|\n${lines.map((l) => ' '.repeat(n) + l).join('\n')}`;
});

function template(format: ArtifactFormat): HandlebarsTemplateDelegate {
  let t = templates.get(format);
  if (!t) {
    t = hb.compile(readFileSync(backendFile('kusto', `templates/${format}.hbs`), 'utf8'), { noEscape: true, strict: true });
    templates.set(format, t);
  }
  return t;
}

function fail(format: string, msg: string): never {
  throw new TargetFailure('unsupported', `${format}: ${msg}`);
}

/** Minutes as Sentinel YAML writes a duration: `5m`, `2h`, `1d`. */
function shortDuration(mins: number): string {
  if (mins % 1440 === 0) return `${mins / 1440}d`;
  if (mins % 60 === 0) return `${mins / 60}h`;
  return `${mins}m`;
}

/**
 * A string ARM would evaluate as a template expression (it starts with `[` and ends with `]`) is
 * escaped by doubling the opening bracket; ARM reads other strings as they are ("Escape characters"
 * in the ARM template syntax docs), so they are left alone.
 */
export function armLiteral(v: unknown): unknown {
  if (typeof v === 'string') return v.startsWith('[') && v.endsWith(']') ? `[${v}` : v;
  if (Array.isArray(v)) return v.map(armLiteral);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, armLiteral(x)]));
  return v;
}

/** ISO 8601 duration for ARM: `PT1H`, `PT5M`, `P1D`. */
function iso(mins: number): string {
  if (mins % 1440 === 0) return `P${mins / 1440}D`;
  if (mins % 60 === 0) return `PT${mins / 60}H`;
  return `PT${mins}M`;
}

function resultColumns(q: CompiledKusto): { has(c: string): boolean } {
  return { has: (c: string): boolean => q.view.columns.has(c) || q.added.has(c) };
}

/** A Sentinel entity mapping: an entity identifier read from a column of the results. */
export interface EntityMapping {
  entityType: string;
  identifier: string;
  columnName: string;
}

/**
 * What Sentinel makes of a query's results: the entity mappings (the first column of each entity the
 * mapping lists that the results have, at most 5) and the custom details (one per output field, at
 * most 20, keyed by the field's column name); `leftOut` says which output fields have no valid key.
 * The artifacts and `rulec explain` both read it, so the page shows what is deployed.
 */
export function alertMapping(rule: CompileInput['rule'], q: CompiledKusto, mapping: KustoMapping): { entities: EntityMapping[]; customDetails: { key: string; column: string }[]; leftOut: string[] } {
  const columns = resultColumns(q);
  const entities: EntityMapping[] = [];
  for (const e of mapping.entities) {
    if (entities.length === 5) break;
    const col = e.columns.find((c) => columns.has(c));
    if (col && /^[a-zA-Z_]+\w*$/.test(col)) entities.push({ entityType: e.entityType, identifier: e.identifier, columnName: col });
  }
  const customDetails: { key: string; column: string }[] = [];
  const leftOut: string[] = [];
  for (const f of rule.output) {
    const column = columnNameFor(f);
    const key = column.replace(/^_+/, '').slice(0, 20);
    if (!/^[a-zA-Z]+\w*$/.test(key)) {
      leftOut.push(`output field '${f}' has no valid custom detail key; it is left out`);
      continue;
    }
    if (customDetails.length < 20) customDetails.push({ key, column });
  }
  return { entities, customDetails, leftOut };
}

/** The column a Defender XDR custom detection takes its impacted asset from, and the asset's type. */
export function defenderAssetColumn(q: CompiledKusto): string | undefined {
  const columns = resultColumns(q);
  return DEFENDER_ENTITY_COLUMNS.find((c) => columns.has(c));
}

/** The Graph impacted-asset type of a Defender entity column. */
export function defenderAssetType(column: string): string {
  return DEFENDER_ASSET_TYPE[column] ?? 'impactedUserAsset';
}

export function renderArtifact(format: ArtifactFormat, input: CompileInput, q: CompiledKusto, mapping: KustoMapping): { text: string; ext: string; notes: string[] } {
  const rule = input.rule;
  const notes: string[] = [];
  if (!rule.id) fail(format, 'the rule needs an `id` (a GUID): Microsoft content is identified by it');
  const description = (rule.description ?? rule.title).trim();
  if (description.length > 5000) fail(format, `the description has ${description.length} characters; the limit is 5000`);
  if (q.text.length > 10000) fail(format, `the query has ${q.text.length} characters; the limit is 10000`);

  const level = rule.level ?? 'medium';
  if (!rule.level) notes.push(`${format}: the rule has no level; severity Medium is used`);
  if (level === 'critical') notes.push(`${format}: level critical becomes severity High (the highest Microsoft offers)`);

  const attack = ruleAttack(rule.tags);
  notes.push(...leftOut(attack).map((m) => `${format}: ${m}`));
  // Tactics as ATT&CK places the rule's techniques (src/attack), so a technique never lacks its tactic.
  const tactics = placeTechniques(attack).map((p) => compactName(p.tactic));
  const techniques = attack.techniques.filter((t) => !t.retired).map((t) => t.id);

  const product = FORMAT_PLATFORM[format];
  const sched = scheduleFor(rule, 'kusto', product);
  if (!sched.frequency && !sched.lookback) notes.push(`${format}: the rule has no schedule; it runs every 1h over the last 1h`);
  const what = (k: string): string => `${format}: schedule.${k}`;

  const columns = resultColumns(q);
  const { entities, customDetails, leftOut: unkeyed } = alertMapping(rule, q, mapping);
  notes.push(...unkeyed.map((m) => `${format}: ${m}`));

  const values: Record<string, unknown> = {
    id: rule.id,
    name: rule.title,
    description,
    query: q.text,
    tactics,
    techniques,
    entities,
    customDetails,
  };

  if (format === 'defender-json') {
    let period: string;
    if (sched.frequency === 'continuous') period = '0';
    else {
      const f = durationMinutes(sched.frequency ?? '1h', what('frequency'), 'Defender XDR');
      const d = DEFENDER_PERIOD.get(f);
      if (!d) fail(format, `frequency ${sched.frequency} is not one Defender XDR offers; use continuous, 1h, 3h, 12h or 24h (schedule.defender-xdr.frequency sets it for Defender only)`);
      // The query's own time filter narrows Defender's fixed window; it cannot widen it.
      if (sched.lookback && durationMinutes(sched.lookback, what('lookback'), 'Defender XDR') > d.lookback) {
        fail(format, `lookback ${sched.lookback} is longer than the ${shortDuration(d.lookback)} Defender XDR searches at frequency ${sched.frequency}; use a lookback of at most ${shortDuration(d.lookback)} or a longer frequency`);
      }
      period = d.period;
    }
    for (const c of ['Timestamp', 'ReportId']) if (!columns.has(c)) fail(format, `the results lack the required column ${c} (table ${q.view.table})`);
    const asset = defenderAssetColumn(q);
    if (!asset) fail(format, `the results need one of ${DEFENDER_ENTITY_COLUMNS.join(', ')} (table ${q.view.table})`);
    Object.assign(values, {
      defenderPeriod: period,
      defenderSeverity: DEFENDER_SEVERITY[level],
      category: tactics[0] ?? 'SuspiciousActivity',
      impactedAssets: [
        {
          '@odata.type': `#microsoft.graph.security.${defenderAssetType(asset!)}`,
          identifier: asset![0]!.toLowerCase() + asset!.slice(1),
        },
      ],
    });
  } else {
    const f = durationMinutes(sched.frequency ?? sched.lookback ?? '1h', what('frequency'), 'Sentinel');
    const p = sched.lookback ? durationMinutes(sched.lookback, what('lookback'), 'Sentinel') : f;
    const frequency = shortDuration(f);
    const period = shortDuration(p);
    if (!Number.isInteger(f) || !Number.isInteger(p)) fail(format, `Sentinel schedules are in whole minutes (frequency ${sched.frequency}, lookback ${sched.lookback})`);
    const inRange = (x: number): boolean => x >= 5 && x <= 14 * 1440;
    if (!inRange(f)) fail(format, `queryFrequency ${frequency} is outside Sentinel's 5m..14d`);
    if (!inRange(p)) fail(format, `queryPeriod ${period} is outside Sentinel's 5m..14d`);
    if (p < f) fail(format, `queryPeriod ${period} is shorter than queryFrequency ${frequency}`);
    if (p >= 2 * 1440 && f < 60) fail(format, `a queryPeriod of 2d or more (${period}) needs a queryFrequency of at least 1h (${frequency})`);
    Object.assign(values, {
      severity: SENTINEL_SEVERITY[level],
      frequency,
      period,
      isoFrequency: iso(f),
      isoPeriod: iso(p),
      connectors: q.view.connector ? [q.view.connector] : [],
      parentTechniques: [...new Set(techniques.map((t) => t.split('.')[0]!))],
      subTechniques: [...new Set(techniques.filter((t) => t.includes('.')))],
      armEntities: entities.map((e) => ({ entityType: e.entityType, fieldMappings: [{ identifier: e.identifier, columnName: e.columnName }] })),
      customDetailsMap: Object.fromEntries(customDetails.map((c) => [c.key, c.column])),
    });
    if (!q.view.connector) notes.push(`${format}: table ${q.view.table} has no data connector in the mapping; requiredDataConnectors is empty`);
  }
  if (format === 'sentinel-arm') return { text: template(format)(armLiteral(values)), ext: EXT[format], notes };
  return { text: template(format)(values), ext: EXT[format], notes };
}

export const DEFENDER_CORRELATION =
  'a correlation hit is an aggregate over events, and Defender XDR custom detections need each result row to be an event (Timestamp, ReportId and an entity column of one event)';

/** How often a correlation's scheduled rule runs: hits are reported once, by the run after their window end. */
export const CORRELATION_FREQUENCY_MINUTES = 60;

/**
 * A correlation as a Sentinel scheduled rule. Each run reports the hits whose window ended since
 * the previous run (`WindowEnd > ago(frequency)`, appended to the query), and reads events back to
 * twice the timespan before that: a hit at t needs the events of [t - span, t] and whether the
 * condition held at the previous point of its group, up to t - span, whose window starts at
 * t - 2 span. So queryPeriod = frequency + 2 timespan; for a chain, 2 x the timespans along its
 * deepest chain of correlations (an inner hit near the period's start needs its own history). The
 * group-by columns, the window and the value are the alert's custom details.
 */
export function renderCorrelationArtifact(
  format: ArtifactFormat,
  rule: CorrelationRule,
  query: string,
  views: readonly View[],
  groupColumns: readonly string[],
  chainTimespanSeconds: number = rule.correlation.timespanSeconds,
): { text: string; ext: string; query: string; notes: string[] } {
  if (format === 'defender-json') fail(format, DEFENDER_CORRELATION);
  const notes: string[] = [];
  if (!rule.id) fail(format, 'the rule needs an `id` (a GUID): Microsoft content is identified by it');
  const description = (rule.description ?? rule.title).trim();
  if (description.length > 5000) fail(format, `the description has ${description.length} characters; the limit is 5000`);
  const f = CORRELATION_FREQUENCY_MINUTES;
  const p = f + Math.ceil((2 * chainTimespanSeconds) / 60);
  const twice = chainTimespanSeconds === rule.correlation.timespanSeconds ? `the timespan ${rule.correlation.timespan}` : 'the timespans of its chain of correlations';
  if (p > 14 * 1440) fail(format, `queryPeriod ${shortDuration(p)} (1h + twice ${twice}) is longer than Sentinel's 14d`);
  const deployed = `${query.replace(/\n$/, '')}\n| where WindowEnd > ago(${shortDuration(f)})\n`;
  if (deployed.length > 10000) fail(format, `the query has ${deployed.length} characters; the limit is 10000`);
  const level = rule.level ?? 'medium';
  if (!rule.level) notes.push(`${format}: the rule has no level; severity Medium is used`);
  if (level === 'critical') notes.push(`${format}: level critical becomes severity High (the highest Microsoft offers)`);
  const attack = ruleAttack(rule.tags);
  notes.push(...leftOut(attack).map((m) => `${format}: ${m}`));
  const tactics = placeTechniques(attack).map((pl) => compactName(pl.tactic));
  const techniques = attack.techniques.filter((t) => !t.retired).map((t) => t.id);
  const keyed = [...groupColumns, 'WindowStart', 'WindowEnd', 'Value'];
  const customDetails = keyed.filter((c) => /^[a-zA-Z]+\w*$/.test(c) && c.length <= 20).slice(0, 20).map((c) => ({ key: c, column: c }));
  const unkeyed = keyed.filter((c) => !customDetails.some((d) => d.column === c));
  if (unkeyed.length) notes.push(`${format}: no custom detail for ${unkeyed.join(', ')} (keys are letters, digits and _, at most 20 characters, at most 20 details)`);
  const connectors = new Map<string, NonNullable<View['connector']>>();
  for (const v of views) {
    if (!v.connector) continue;
    const c = connectors.get(v.connector.connectorId);
    if (c) connectors.set(c.connectorId, { connectorId: c.connectorId, dataTypes: [...new Set([...c.dataTypes, ...v.connector.dataTypes])] });
    else connectors.set(v.connector.connectorId, v.connector);
  }
  const values: Record<string, unknown> = {
    id: rule.id,
    name: rule.title,
    description,
    query: deployed,
    tactics,
    techniques,
    entities: [],
    customDetails,
    severity: SENTINEL_SEVERITY[level],
    frequency: shortDuration(f),
    period: shortDuration(p),
    isoFrequency: iso(f),
    isoPeriod: iso(p),
    connectors: [...connectors.values()],
    parentTechniques: [...new Set(techniques.map((t) => t.split('.')[0]!))],
    subTechniques: [...new Set(techniques.filter((t) => t.includes('.')))],
    armEntities: [],
    customDetailsMap: Object.fromEntries(customDetails.map((c) => [c.key, c.column])),
  };
  const text = format === 'sentinel-arm' ? template(format)(armLiteral(values)) : template(format)(values);
  return { text, ext: EXT[format], query: deployed, notes };
}
