/**
 * Deployable Microsoft content from a compiled query: the Sentinel analytic rule YAML, the Sentinel
 * ARM template of a scheduled rule, and the Defender XDR custom detection (Graph JSON). The layout
 * lives in the handlebars templates of backends/kusto/templates/; this module computes the values
 * and enforces the vendors' constraints (target-semantics.md section 4), failing the rule with the
 * constraint it breaks rather than emitting content the vendor rejects.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { backendFile } from '../../config/mapping.js';
import type { CompileInput } from '../types.js';
import { TargetFailure } from '../types.js';
import { columnNameFor } from './dialect.js';
import type { KustoMapping } from './mapping.js';
import type { CompiledKusto } from './target.js';

export type ArtifactFormat = 'sentinel-yaml' | 'sentinel-arm' | 'defender-json';

export const FORMAT_PLATFORM: Record<ArtifactFormat, string> = {
  'sentinel-yaml': 'sentinel',
  'sentinel-arm': 'sentinel',
  'defender-json': 'defender-xdr',
};

const EXT: Record<ArtifactFormat, string> = { 'sentinel-yaml': 'yaml', 'sentinel-arm': 'json', 'defender-json': 'json' };

/** ATT&CK tactic tags (`attack.defense-evasion`) -> the names Sentinel and Defender use. */
const TACTICS: Record<string, string> = {
  reconnaissance: 'Reconnaissance',
  'resource-development': 'ResourceDevelopment',
  'initial-access': 'InitialAccess',
  execution: 'Execution',
  persistence: 'Persistence',
  'privilege-escalation': 'PrivilegeEscalation',
  'defense-evasion': 'DefenseEvasion',
  'credential-access': 'CredentialAccess',
  discovery: 'Discovery',
  'lateral-movement': 'LateralMovement',
  collection: 'Collection',
  'command-and-control': 'CommandAndControl',
  exfiltration: 'Exfiltration',
  impact: 'Impact',
};

const SENTINEL_SEVERITY: Record<string, string> = { informational: 'Informational', low: 'Low', medium: 'Medium', high: 'High', critical: 'High' };
const DEFENDER_SEVERITY: Record<string, string> = { informational: 'informational', low: 'low', medium: 'medium', high: 'high', critical: 'high' };
/** Defender custom detection frequencies (Graph `schedule.period`) by rule frequency. */
const DEFENDER_PERIOD: Record<string, string> = { '1h': '1H', '60m': '1H', '3h': '3H', '12h': '12H', '24h': '24H', '1d': '24H' };
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

/** `1h` -> minutes. */
function minutes(d: string): number {
  const m = /^(\d+)([smhd])$/.exec(d)!;
  return Number(m[1]) * { s: 1 / 60, m: 1, h: 60, d: 1440 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** ISO 8601 duration for ARM: `PT1H`, `PT5M`, `P1D`. */
function iso(d: string): string {
  const mins = minutes(d);
  if (mins % 1440 === 0) return `P${mins / 1440}D`;
  if (mins % 60 === 0) return `PT${mins / 60}H`;
  return `PT${mins}M`;
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

  const tactics: string[] = [];
  const techniques: string[] = [];
  for (const t of rule.tags) {
    const m = /^attack\.(.+)$/.exec(t);
    if (!m) continue;
    const v = m[1]!;
    if (TACTICS[v]) tactics.push(TACTICS[v]);
    else if (/^t\d{4}(\.\d{3})?$/.test(v)) techniques.push(v.toUpperCase());
  }

  const frequency = rule.schedule?.frequency ?? rule.schedule?.lookback ?? '1h';
  const period = rule.schedule?.lookback ?? frequency;
  if (!rule.schedule) notes.push(`${format}: the rule has no schedule; it runs every 1h over the last 1h`);

  const columns = { has: (c: string): boolean => q.view.columns.has(c) || q.added.has(c) };
  const entities: { entityType: string; identifier: string; columnName: string }[] = [];
  for (const e of mapping.entities) {
    if (entities.length === 5) break;
    const col = e.columns.find((c) => columns.has(c));
    if (col && /^[a-zA-Z_]+\w*$/.test(col)) entities.push({ entityType: e.entityType, identifier: e.identifier, columnName: col });
  }
  const customDetails: { key: string; column: string }[] = [];
  for (const f of rule.output) {
    const column = columnNameFor(f);
    const key = column.replace(/^_+/, '').slice(0, 20);
    if (!/^[a-zA-Z]+\w*$/.test(key)) {
      notes.push(`${format}: output field '${f}' has no valid custom detail key; it is left out`);
      continue;
    }
    if (customDetails.length < 20) customDetails.push({ key, column });
  }

  const values: Record<string, unknown> = {
    id: rule.id,
    name: rule.title,
    description,
    query: q.text,
    tactics: [...new Set(tactics)],
    techniques: [...new Set(techniques)],
    entities,
    customDetails,
  };

  if (format === 'defender-json') {
    const period_ = DEFENDER_PERIOD[frequency];
    if (!period_) fail(format, `frequency ${frequency} is not one Defender offers; use 1h, 3h, 12h or 24h`);
    for (const c of ['Timestamp', 'ReportId']) if (!columns.has(c)) fail(format, `the results lack the required column ${c} (table ${q.view.table})`);
    const asset = DEFENDER_ENTITY_COLUMNS.find((c) => columns.has(c));
    if (!asset) fail(format, `the results need one of ${DEFENDER_ENTITY_COLUMNS.join(', ')} (table ${q.view.table})`);
    Object.assign(values, {
      defenderPeriod: period_,
      defenderSeverity: DEFENDER_SEVERITY[level],
      category: tactics[0] ?? 'SuspiciousActivity',
      impactedAssets: [
        {
          '@odata.type': `#microsoft.graph.security.${DEFENDER_ASSET_TYPE[asset!] ?? 'impactedUserAsset'}`,
          identifier: asset![0]!.toLowerCase() + asset!.slice(1),
        },
      ],
    });
  } else {
    const f = minutes(frequency);
    const p = minutes(period);
    const inRange = (x: number): boolean => x >= 5 && x <= 14 * 1440;
    if (!inRange(f)) fail(format, `queryFrequency ${frequency} is outside Sentinel's 5m..14d`);
    if (!inRange(p)) fail(format, `queryPeriod ${period} is outside Sentinel's 5m..14d`);
    if (p < f) fail(format, `queryPeriod ${period} is shorter than queryFrequency ${frequency}`);
    if (p >= 2 * 1440 && f < 60) fail(format, `a queryPeriod of 2d or more (${period}) needs a queryFrequency of at least 1h (${frequency})`);
    Object.assign(values, {
      severity: SENTINEL_SEVERITY[level],
      frequency,
      period,
      isoFrequency: iso(frequency),
      isoPeriod: iso(period),
      connectors: q.view.connector ? [q.view.connector] : [],
      parentTechniques: [...new Set(techniques.map((t) => t.split('.')[0]!))],
      subTechniques: [...new Set(techniques.filter((t) => t.includes('.')))],
      armEntities: entities.map((e) => ({ entityType: e.entityType, fieldMappings: [{ identifier: e.identifier, columnName: e.columnName }] })),
      customDetailsMap: Object.fromEntries(customDetails.map((c) => [c.key, c.column])),
    });
    if (!q.view.connector) notes.push(`${format}: table ${q.view.table} has no data connector in the mapping; requiredDataConnectors is empty`);
  }
  return { text: template(format)(values), ext: EXT[format], notes };
}
