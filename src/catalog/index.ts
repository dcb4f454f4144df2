/**
 * The detection catalog of a rule collection as data: each rule's `Explanation` (src/explain, the
 * one derivation `rulec explain` prints) with its body on every target, and the ATT&CK matrix of the
 * collection. `catalog.json` is this object; the HTML site (render.ts) is drawn from it.
 */
import { allTactics, allTechniques, technique as techniqueById } from '../attack/index.js';
import { compileBody, corpusIndex, defaultPlatform, explainRule, type Explanation, type RuleBody, type Stage } from '../explain/index.js';
import type { Node } from '../ir/types.js';
import type { DetectionRule } from '../model/types.js';
import { loadTarget } from '../targets/registry.js';
import type { Target } from '../targets/types.js';

/** The targets whose rule bodies a catalog page shows, in tab order. */
export const CATALOG_BODY_TARGETS = ['kusto', 'eql', 'spl', 'ts'] as const;

export interface CatalogInput {
  path: string;
  /** The document's index in its file (0 for the first). */
  index: number;
  rule: DetectionRule;
  ir: Node;
  /** The page's path in the site, relative to its root, with `/` separators (`rules/windows/x.html`). */
  page: string;
}

/** A (tactic, technique) pair a rule covers, sub-techniques rolled up into their parent. */
export interface Placement {
  tactic: string;
  technique: string;
}

/**
 * A rule's query on one target, or why the target refuses the rule. Where the query ends in code
 * every rule's query shares (the ts module's inlined runtime, some 20 KB a rule), only the rule's
 * own code is kept and `omittedLines` says how many lines were left out: 3,000 copies of it would
 * make most of the catalog.
 */
export type CatalogBody = { target: string; platform: string } & ({ ok: true; query: string; omittedLines?: number } | { ok: false; kind: string; error: string });

export type CatalogRule = Omit<Explanation, 'body'> & {
  page: string;
  /** The rule on each target's default platform (a native rule's own on its target), in the catalog's target order. */
  bodies: CatalogBody[];
  /** The parameters and stages of the first target's query (null where it refuses the rule). */
  stages: { target: string; platform: string; parameters: string[]; stages: Stage[] } | null;
  placements: Placement[];
};

export interface MatrixCell {
  id: string;
  name: string;
  /** Rules that cover the technique (or one of its sub-techniques) under this tactic. */
  count: number;
}

export interface MatrixColumn {
  tactic: { id: string; name: string };
  /** Rules under this tactic: tagged with it, or with a technique ATT&CK places under it. */
  count: number;
  techniques: MatrixCell[];
}

export interface Catalog {
  title: string;
  targets: string[];
  rules: CatalogRule[];
  /** ATT&CK Enterprise tactics in matrix order, each with its live techniques (by name, as ATT&CK's matrix sorts them). */
  matrix: MatrixColumn[];
  /** Rule documents without a page and why (invalid rules, correlation and filter rules). */
  skipped: { path: string; index: number; reason: string }[];
}

export interface CatalogOptions {
  title: string;
  /** Targets to show bodies for; the first one's stages are the page's stages. */
  targets: readonly string[];
  /** The indicator counts of the whole collection; computed here when absent. */
  corpus?: ReadonlyMap<string, number>;
  onProgress?: (done: number, total: number) => void;
}

function bodyOf(b: { target: string; platform: string } & RuleBody): CatalogBody {
  if (!b.ok) return { target: b.target, platform: b.platform, ok: false, kind: b.kind, error: b.error };
  if (b.ruleCodeEnd === undefined) return { target: b.target, platform: b.platform, ok: true, query: b.query };
  const omitted = b.query.slice(b.ruleCodeEnd).replace(/\n+$/, '');
  const query = b.query.slice(0, b.ruleCodeEnd).replace(/\n+$/, '') + '\n';
  return { target: b.target, platform: b.platform, ok: true, query, omittedLines: omitted === '' ? 0 : omitted.split('\n').length };
}

/** The first target's stages; a one-stage query that is the whole query shows what the body shows. */
function stagesOf(b: { target: string; platform: string } & RuleBody, shown: CatalogBody): CatalogRule['stages'] {
  if (!b.ok || !shown.ok) return null;
  const stages = b.stages.map((s) => (s.origin === 'query' ? { ...s, text: shown.query.replace(/\n$/, '') } : s));
  return { target: b.target, platform: b.platform, parameters: b.parameters, stages };
}

const parentOf = (id: string): string => id.split('.')[0]!;

export function placementsOf(x: Pick<Explanation, 'attack'>): Placement[] {
  const seen = new Set<string>();
  const out: Placement[] = [];
  for (const row of x.attack) {
    for (const t of row.techniques) {
      const p = { tactic: row.tactic.id, technique: parentOf(t.id) };
      const key = `${p.tactic}/${p.technique}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** The Enterprise matrix with each cell's rule count; a technique a rule places outside ATT&CK's own columns still gets its cell. */
export function attackMatrix(rules: readonly Pick<CatalogRule, 'placements' | 'attack'>[]): MatrixColumn[] {
  const counts = new Map<string, number>();
  const byTactic = new Map<string, number>();
  for (const r of rules) {
    for (const p of r.placements) counts.set(`${p.tactic}/${p.technique}`, (counts.get(`${p.tactic}/${p.technique}`) ?? 0) + 1);
    for (const t of new Set(r.attack.map((a) => a.tactic.id))) byTactic.set(t, (byTactic.get(t) ?? 0) + 1);
  }
  const live = allTechniques().filter((t) => !t.retired && !t.id.includes('.'));
  return allTactics().map((ta) => {
    const ids = new Set(live.filter((t) => t.tactics.includes(ta.shortname)).map((t) => t.id));
    for (const key of counts.keys()) if (key.startsWith(`${ta.id}/`)) ids.add(key.slice(ta.id.length + 1));
    const techniques = [...ids]
      .map((id) => ({ id, name: techniqueById(id)?.name ?? id, count: counts.get(`${ta.id}/${id}`) ?? 0 }))
      .sort((a, b) => a.name.localeCompare(b.name, 'en') || a.id.localeCompare(b.id, 'en'));
    return { tactic: { id: ta.id, name: ta.name }, count: byTactic.get(ta.id) ?? 0, techniques };
  });
}

export async function buildCatalog(inputs: readonly CatalogInput[], opts: CatalogOptions): Promise<Omit<Catalog, 'skipped'>> {
  if (opts.targets.length === 0) throw new Error('buildCatalog: no target');
  const targets: Target[] = [];
  for (const name of opts.targets) targets.push(await loadTarget(name));
  // Counted once for the whole collection: each page reads its indicators' counts from it.
  const corpus = opts.corpus ?? corpusIndex(inputs.map((i) => i.ir));
  const rules: CatalogRule[] = [];
  for (const [n, input] of inputs.entries()) {
    opts.onProgress?.(n, inputs.length);
    const x = await explainRule(input.path, input.rule, input.ir, { target: targets[0]!.name, corpus, inCorpus: true });
    const { body, ...rest } = x;
    const compileInput = { path: input.path, rule: input.rule, ir: input.ir };
    // The first target's body is the explanation's own; the others are compiled the same way.
    const bodies = [body, ...targets.slice(1).map((target) => ({ target: target.name, platform: defaultPlatform(target, input.rule), ...compileBody(target, defaultPlatform(target, input.rule), compileInput) }))].map(bodyOf);
    rules.push({ ...rest, page: input.page, bodies, stages: stagesOf(body, bodies[0]!), placements: placementsOf(x) });
  }
  opts.onProgress?.(inputs.length, inputs.length);
  return { title: opts.title, targets: targets.map((t) => t.name), rules, matrix: attackMatrix(rules) };
}
