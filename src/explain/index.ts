/**
 * `rulec explain`: a rule's catalog page as plain data (the sections of the seed page, in its
 * order), derived from the rule, its IR, ATT&CK, the targets' mapping data and a compiled query.
 * The text renderer (render.ts) and the catalog read this object; nothing here prints.
 */
import { placeTechniques, ruleAttack } from '../attack/index.js';
import type { Node } from '../ir/types.js';
import type { DetectionRule } from '../model/types.js';
import { loadTarget, targetNames } from '../targets/registry.js';
import { TargetFailure, type CompileInput, type Target } from '../targets/types.js';
import { ruleCoverage, shippedMapping, type CoverageRow } from './coverage.js';
import { indicatorsOf, predicatesOf, type Indicator } from './indicators.js';

export { corpusIndex } from './indicators.js';
export type { CoverageRow } from './coverage.js';

/** How a page names a native rule's fields (`native:`), in its header and above its indicators. */
export function nativeText(n: NonNullable<Explanation['native']>): string {
  return `native columns of ${n.target} table ${n.table} (platform ${n.platform})`;
}
export type { Indicator } from './indicators.js';

export interface AttackRow {
  tactic: { id: string; name: string };
  techniques: { id: string; name: string }[];
}

export type RuleBody =
  | {
      ok: true;
      query: string;
      parameters: string[];
      stages: Stage[];
      /** Where the rule's own code ends in `query`, when the rest is code every rule's query shares (the ts target's inlined runtime). */
      ruleCodeEnd?: number;
    }
  | { ok: false; kind: string; error: string };

/** One stage of the compiled query; `predicates` are the IR leaves a detection condition prints. */
export interface Stage {
  kind: string;
  text: string;
  origin: string;
  predicates: string[];
}

export interface OutputField {
  field: string;
  /** Per target platform whose content uses output fields: the field's column, where it comes from, and the alert properties that read it. */
  targets: { target: string; column: string; from: string; uses: string[] }[];
}

export interface AlertEntities {
  target: string;
  entities: { entity: string; column: string }[];
  notes: string[];
  /** Why the rule does not compile for this platform (its output fields are then not listed for it). */
  error?: string;
}

export interface Explanation {
  path: string;
  id?: string;
  title: string;
  description?: string;
  status?: string;
  level?: string;
  logsource: DetectionRule['logsource'];
  /** Set for a rule whose fields are the columns of one table (`native:`): the indicators name columns. */
  native?: { target: string; platform: string; table: string };
  attack: AttackRow[];
  references: string[];
  eventCoverage: CoverageRow[];
  /** The compiled query of the chosen target and platform. */
  body: { target: string; platform: string } & RuleBody;
  indicators: Indicator[];
  output: { fields: OutputField[]; alerts: AlertEntities[] };
  /** Problems of the rule's metadata the page shows (retired or unknown ATT&CK ids). */
  warnings: string[];
}

export interface ExplainOptions {
  target: string;
  platform?: string;
  /** Indicator counts of the collection (`corpusIndex`), and whether the rule is one of its rules. */
  corpus: ReadonlyMap<string, number>;
  inCorpus: boolean;
}

function attackRows(rule: DetectionRule): { rows: AttackRow[]; warnings: string[] } {
  const attack = ruleAttack(rule.tags);
  const tagged = new Set(attack.techniques.map((t) => t.id));
  const rows = placeTechniques(attack).map((p) => ({
    tactic: { id: p.tactic.id, name: p.tactic.name },
    // A parent shows when the rule tags it; its tagged sub-techniques follow it.
    techniques: p.techniques.flatMap((t) => [...(tagged.has(t.technique.id) ? [t.technique] : []), ...t.subtechniques]).map((t) => ({ id: t.id, name: t.name })),
  }));
  return { rows, warnings: attack.problems.map((p) => p.message) };
}

/**
 * A rule's body on one target and platform: the query and its stages, or why the target refuses
 * the rule. The catalog shows it for every target; `explainRule` for the chosen one.
 */
export function compileBody(target: Target, platform: string, input: CompileInput): RuleBody {
  const compiled = target.compile(input, { platform, format: 'query', mapping: shippedMapping(target.name, platform) });
  if (!compiled.ok) return { ok: false, kind: compiled.kind, error: compiled.error };
  return {
    ok: true,
    query: compiled.query,
    // A target that does not assemble its query in stages shows it as one stage.
    parameters: compiled.stages?.parameters ?? [],
    stages: compiled.stages
      ? compiled.stages.stages.map((s) => ({ kind: s.kind, text: s.text, origin: s.origin, predicates: s.ir ? predicatesOf(s.ir) : [] }))
      : [{ kind: 'query', text: compiled.query.replace(/\n$/, ''), origin: 'query', predicates: predicatesOf(input.ir) }],
    ...(compiled.ruleCodeEnd !== undefined ? { ruleCodeEnd: compiled.ruleCodeEnd } : {}),
  };
}

/**
 * The platform a rule's body is shown on by default: a native rule's own on its target (where its
 * table is sure to be), else the target's first.
 */
export function defaultPlatform(target: Target, rule: DetectionRule): string {
  return rule.native?.target === target.name ? rule.native.platform : target.platforms[0]!;
}

export async function explainRule(path: string, rule: DetectionRule, ir: Node, opts: ExplainOptions): Promise<Explanation> {
  const target = await loadTarget(opts.target);
  const platform = opts.platform ?? defaultPlatform(target, rule);
  const input: CompileInput = { path, rule, ir };
  const body = compileBody(target, platform, input);

  const fields: OutputField[] = rule.output.map((field) => ({ field, targets: [] }));
  const alerts: AlertEntities[] = [];
  // Output fields matter to the content of targets with alert fields (the Kusto platforms today).
  for (const name of targetNames()) {
    const t = await loadTarget(name);
    if (!t.alertFields) continue;
    for (const p of t.platforms) {
      const key = `${name}/${p}`;
      try {
        const a = t.alertFields(input, { platform: p, mapping: shippedMapping(name, p) });
        for (const f of a.fields) fields.find((x) => x.field === f.field)?.targets.push({ target: key, column: f.column, from: f.from, uses: f.uses });
        alerts.push({ target: key, entities: a.entities, notes: a.notes });
      } catch (e) {
        if (!(e instanceof TargetFailure)) throw e;
        alerts.push({ target: key, entities: [], notes: [], error: e.message });
      }
    }
  }

  const { rows, warnings } = attackRows(rule);
  return {
    path,
    ...(rule.id ? { id: rule.id } : {}),
    title: rule.title,
    ...(rule.description ? { description: rule.description.trim() } : {}),
    ...(rule.status ? { status: rule.status } : {}),
    ...(rule.level ? { level: rule.level } : {}),
    logsource: rule.logsource,
    ...(rule.native ? { native: { target: rule.native.target, platform: rule.native.platform, table: rule.native.table } } : {}),
    attack: rows,
    references: rule.references ?? [],
    eventCoverage: await ruleCoverage(rule, ir),
    body: { target: target.name, platform, ...body },
    indicators: indicatorsOf(ir, opts.corpus, opts.inCorpus),
    output: { fields, alerts },
    warnings,
  };
}
