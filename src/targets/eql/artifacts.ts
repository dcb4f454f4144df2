/**
 * Elastic detection rules around an EQL query: the Kibana import NDJSON (POST
 * /api/detection_engine/rules/_import) and the TOML layout of Elastic's detection-rules repository.
 * The layout lives in handlebars templates (backends/eql/templates/); this module only builds the
 * values they fill in and the escaping helpers (JSON, TOML) they call.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { leftOut, ownName, placeTechniques, ruleAttack, tacticUrl, techniqueUrl, type Technique as AttackTechnique } from '../../attack/index.js';
import { backendFile } from '../../config/mapping.js';
import { timeValue } from './dialect.js';
import { durationMinutes, scheduleFor } from '../schedule.js';
import type { DetectionRule, RuleMeta } from '../../model/types.js';

type HandlebarsT = typeof import('handlebars');

export const ARTIFACT_FORMATS = { 'elastic-ndjson': 'ndjson', 'elastic-toml': 'toml' } as const;
export type ArtifactFormat = keyof typeof ARTIFACT_FORMATS;

interface Tactic {
  id: string;
  name: string;
  reference: string;
}

interface Technique {
  id: string;
  name: string;
  reference: string;
  subtechnique?: Technique[];
}

export interface Threat {
  framework: 'MITRE ATT&CK';
  tactic: Tactic;
  technique: Technique[];
}

export interface ElasticRule {
  rule_id: string;
  name: string;
  description: string;
  risk_score: number;
  severity: 'low' | 'medium' | 'high' | 'critical';
  type: 'eql';
  language: 'eql';
  query: string;
  index: string[];
  from: string;
  interval: string;
  enabled: boolean;
  max_signals: number;
  version: number;
  author: string[];
  tags: string[];
  references: string[];
  false_positives: string[];
  threat: Threat[];
  license?: string;
  /** TOML metadata (detection-rules repository). */
  creation_date?: string;
  updated_date?: string;
  maturity: string;
  /** TOML metadata: the Fleet packages the rule reads. */
  integration: string[];
  /** Rules select events by ingest time, so late-arriving events are still searched (Elastic's own rules do). */
  timestamp_override: 'event.ingested';
}

/** Sigma level -> Elastic severity and risk score (Elastic's default scores per severity). */
const SEVERITY: Record<string, [ElasticRule['severity'], number]> = {
  informational: ['low', 21],
  low: ['low', 21],
  medium: ['medium', 47],
  high: ['high', 73],
  critical: ['critical', 99],
};

const MATURITY: Record<string, string> = { stable: 'production', test: 'development', experimental: 'development', deprecated: 'deprecated', unsupported: 'development' };

/**
 * ATT&CK from Sigma tags, placed as ATT&CK places it (src/attack): each technique under the tagged
 * tactics it belongs to, with its ATT&CK name, sub-techniques nested under their parent. Retired and
 * unknown technique ids are left out with a note (Elastic validates names and ids against ATT&CK).
 */
export function threatOf(tags: readonly string[], notes: string[] = []): Threat[] {
  const attack = ruleAttack(tags);
  notes.push(...leftOut(attack).map((m) => `threat: ${m}`));
  const ref = (t: AttackTechnique): Technique => ({ id: t.id, name: ownName(t), reference: techniqueUrl(t.id) });
  return placeTechniques(attack).map(({ tactic, techniques }) => ({
    framework: 'MITRE ATT&CK',
    tactic: { id: tactic.id, name: tactic.name, reference: tacticUrl(tactic) },
    technique: techniques.map((p) => ({ ...ref(p.technique), ...(p.subtechniques.length ? { subtechnique: p.subtechniques.map(ref) } : {}) })),
  }));
}

/**
 * The Fleet integrations (packages) whose data streams the index patterns name: `logs-<package>.<dataset>-*`
 * (the data stream naming scheme); Beats indices (`winlogbeat-*`) belong to no package.
 */
export function integrationsOf(index: readonly string[]): string[] {
  const out = new Set<string>();
  for (const i of index) {
    const m = /^logs-([a-z0-9_]+)\./.exec(i);
    if (m) out.add(m[1]!);
  }
  return [...out].sort();
}

/** A stable rule id for a rule without `id`: a name-based UUID of its path and title. */
function derivedId(path: string, title: string): string {
  const h = createHash('sha1').update(`rulec:${path}:${title}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The Elastic rule of a detection rule, or of a correlation (`timespanSeconds`): each run of a
 * correlation searches its interval plus the timespan, so that a sequence ending in the interval is
 * found with its first event (an alert's id comes from its events, so the overlap alerts once).
 */
export function elasticRule(rule: RuleMeta & Pick<Partial<DetectionRule>, 'schedule'>, path: string, query: string, index: string[], enabled = false, timespanSeconds?: number): { rule: ElasticRule; notes: string[] } {
  const notes: string[] = [];
  const level = rule.level ?? 'low';
  const [severity, risk_score] = SEVERITY[level] ?? ['low', 21];
  const id = rule.id ?? derivedId(path, rule.title);
  if (!rule.id) notes.push(`the rule has no id; the Elastic rule_id ${id} is derived from its path and title`);
  const sched = scheduleFor(rule, 'eql');
  if (sched.frequency) durationMinutes(sched.frequency, 'schedule.frequency', 'Elastic');
  const interval = sched.frequency ?? '5m';
  // A minute more than the span searched, as the default 5m interval searches 6m: events indexed late.
  const lookback = timespanSeconds !== undefined ? timeValue(Math.ceil(durationMinutes(interval, 'schedule.frequency', 'Elastic') * 60) + timespanSeconds + 60) : (sched.lookback ?? sched.frequency ?? '6m');
  const out: ElasticRule = {
    rule_id: id,
    name: rule.title,
    description: (rule.description ?? rule.title).trim(),
    risk_score,
    severity,
    type: 'eql',
    language: 'eql',
    query,
    index,
    from: `now-${lookback}`,
    interval,
    enabled,
    max_signals: 100,
    version: 1,
    author: rule.author ? [rule.author] : [],
    tags: rule.tags,
    references: rule.references ?? [],
    false_positives: rule.falsepositives ?? [],
    threat: threatOf(rule.tags, notes),
    integration: integrationsOf(index),
    timestamp_override: 'event.ingested',
    maturity: MATURITY[rule.status ?? ''] ?? 'development',
  };
  if (rule.license) out.license = rule.license;
  if (rule.date) out.creation_date = rule.date.replace(/-/g, '/');
  if (rule.modified ?? rule.date) out.updated_date = (rule.modified ?? rule.date)!.replace(/-/g, '/');
  return { rule: out, notes };
}

// ---------------------------------------------------------------------------------------------
// Templates

let hb: HandlebarsT | undefined;
const templates = new Map<ArtifactFormat, (ctx: unknown) => string>();

function handlebars(): HandlebarsT {
  if (!hb) {
    // Loaded on first use: a `query` build never pays for it.
    const require = createRequire(import.meta.url);
    const h = (require('handlebars') as HandlebarsT).create();
    h.registerHelper('json', (v: unknown) => new h.SafeString(JSON.stringify(v)));
    h.registerHelper('toml', (v: unknown) => new h.SafeString(tomlValue(v)));
    h.registerHelper('tomlMultiline', (v: unknown) => new h.SafeString(tomlMultiline(String(v))));
    hb = h;
  }
  return hb;
}

export function renderArtifact(format: ArtifactFormat, rule: ElasticRule): string {
  let t = templates.get(format);
  if (!t) {
    const src = readFileSync(backendFile('eql', `templates/${format}.hbs`), 'utf8');
    t = handlebars().compile(src, { noEscape: true, strict: false });
    templates.set(format, t);
  }
  return t(rule);
}

/** A TOML basic string or array of them (TOML 1.0: escapes for `"` `\` and control characters). */
export function tomlValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** The query as a TOML multi-line literal string when it can be one (the detection-rules layout). */
export function tomlMultiline(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!s.includes("'''") && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && !s.endsWith("'")) return `'''\n${s}\n'''`;
  return tomlValue(s);
}
