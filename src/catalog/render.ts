/**
 * The catalog as a static site: index.html (search and filters over a compact data file, so it
 * does not embed every page), one page per rule, the ATT&CK heatmap and catalog.json. Layout is in
 * the handlebars templates of backends/catalog/; this module only computes what they show. Every
 * value reaches HTML through handlebars' escaping, and JavaScript data through `scriptJson`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { backendFile } from '../config/mapping.js';
import { ORIGIN } from '../explain/render.js';
import { nativeText } from '../explain/index.js';
import type { Catalog, CatalogRule, MatrixColumn } from './index.js';

type HandlebarsT = typeof import('handlebars');
type Template = (context: unknown) => string;

const ASSETS = ['catalog.css', 'index.js', 'rule.js'] as const;

let templates: { index: Template; rule: Template; attack: Template } | undefined;

function loadTemplates(): NonNullable<typeof templates> {
  if (templates) return templates;
  const hb = (createRequire(import.meta.url)('handlebars') as HandlebarsT).create();
  const read = (name: string): string => readFileSync(backendFile('catalog', `templates/${name}.hbs`), 'utf8');
  hb.registerPartial('header', read('header'));
  hb.registerPartial('footer', read('footer'));
  // strict: a misspelt name in a template is an error, not an empty cell.
  const compile = (name: string): Template => hb.compile(read(name), { strict: true });
  templates = { index: compile('index'), rule: compile('rule'), attack: compile('attack') };
  return templates;
}

/**
 * JSON for a `<script>` element or a script file: `<`, `>` and `&` escaped, so `</script>` or
 * `<!--` in a rule cannot end or change the script, and U+2028/U+2029, which older parsers take as
 * line ends inside strings.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A page path as a relative URL: each segment percent-encoded (a rule file may be named `a#b?.yml`). */
function href(page: string): string {
  return page.split('/').map(encodeURIComponent).join('/');
}

/** `../` once per folder of a page, to reach the site's root from it. */
function rootOf(page: string): string {
  return '../'.repeat(page.split('/').length - 1);
}

/** Only web links are links; anything else a rule lists (`javascript:`, a file path, prose) is shown as text. */
function reference(text: string): { text: string; href: string } {
  return { text, href: /^https?:\/\/[^\s]+$/i.test(text.trim()) ? text.trim() : '' };
}

/** Which entry of the site's navigation is the current page (every key present: the templates are strict). */
const nav = (current: 'index' | 'attack' | 'rule'): Record<string, boolean> => ({ index: current === 'index', attack: current === 'attack', rule: current === 'rule' });

export function logsourceText(ls: CatalogRule['logsource']): string {
  return [ls.product ?? '', ls.category ?? '', ls.service ?? ''].join('/').replace(/\/+$/, '') || '(none)';
}

function rulePage(c: Catalog, r: CatalogRule): string {
  const root = rootOf(r.page);
  const first = r.bodies[0]!;
  const filter = (key: string, value: string): string => `${root}index.html#${key}=${encodeURIComponent(value)}`;
  const view = {
    site: c.title,
    pageTitle: r.title,
    root,
    nav: nav('rule'),
    title: r.title,
    description: r.description ? r.description.split(/\n\s*\n/).map((p) => p.trim()) : [],
    meta: [
      ...(r.id ? [{ name: 'id', value: r.id }] : []),
      ...(r.status ? [{ name: 'status', value: r.status }] : []),
      ...(r.level ? [{ name: 'level', value: r.level }] : []),
      { name: 'log source', value: logsourceText(r.logsource) },
      ...(r.native ? [{ name: 'fields', value: nativeText(r.native) }] : []),
      { name: 'file', value: r.path },
    ],
    warnings: r.warnings,
    attack: r.attack.map((a) => ({
      tactic: a.tactic.name,
      tacticId: a.tactic.id,
      techniques: a.techniques.map((t) => ({ id: t.id, name: t.name, href: filter('technique', t.id.split('.')[0]!) })),
    })),
    references: r.references.map(reference),
    coverage: r.eventCoverage.map((row) => ({
      platform: row.platform,
      provider: row.provider,
      event: row.event || '(any)',
      title: row.title || '-',
      readBy: row.readBy.length ? row.readBy.join(', ') : `no target (${row.note ?? 'not mapped'})`,
    })),
    bodies: r.bodies.map((b, i) => ({
      target: b.target,
      platform: b.platform,
      tab: `tab-${b.target}`,
      panel: `panel-${b.target}`,
      code: `code-${b.target}`,
      selected: i === 0,
      ok: b.ok,
      query: b.ok ? b.query.replace(/\n$/, '') : '',
      omitted: b.ok && b.omittedLines ? b.omittedLines : 0,
      kind: b.ok ? '' : b.kind,
      error: b.ok ? '' : b.error,
    })),
    stages: {
      target: first.target,
      platform: first.platform,
      ok: r.stages !== null,
      error: first.ok ? '' : first.error,
      parameters: r.stages?.parameters ?? [],
      list: (r.stages?.stages ?? []).map((s, i) => ({ n: i + 1, kind: s.kind, origin: ORIGIN[s.origin] ?? s.origin, text: s.text, predicates: s.predicates })),
    },
    indicatorField: r.native ? 'Column' : 'Field',
    indicatorNoun: r.native ? 'column' : 'field',
    indicators: r.indicators.flatMap((g) => {
      const kind = `${g.negated ? 'not ' : ''}${g.kind}${g.caseSensitive ? ' (case-sensitive)' : ''}`;
      const values = g.values.length ? g.values : [{ value: '', corpus: NaN }];
      return values.map((v) => ({ field: g.field, kind, value: v.value, corpus: Number.isNaN(v.corpus) ? '' : String(v.corpus) }));
    }),
    outputFields: r.output.fields.flatMap((f) =>
      (f.targets.length ? f.targets : [{ target: '-', column: '-', from: '-', uses: [] }]).map((t) => ({ field: f.field, target: t.target, column: t.column, from: t.from, uses: t.uses.join(', ') || '-' })),
    ),
    entities: r.output.alerts.flatMap((a) => a.entities.map((e) => ({ target: a.target, entity: e.entity, column: e.column }))),
    alertNotes: r.output.alerts.flatMap((a) => [...(a.error ? [{ target: a.target, text: `not compiled: ${a.error}` }] : []), ...a.notes.map((n) => ({ target: a.target, text: n }))]),
    script: `${root}assets/rule.js`,
  };
  return loadTemplates().rule(view);
}

/** Shade 0 (no rule) to 5, on a log scale of the busiest cell, so a few hot techniques do not wash out the rest. */
function shade(count: number, max: number): number {
  if (count === 0) return 0;
  if (max <= 1) return 5;
  return 1 + Math.min(4, Math.floor((Math.log(count) / Math.log(max)) * 4.999));
}

function attackPage(c: Catalog): string {
  const max = Math.max(0, ...c.matrix.flatMap((col) => col.techniques.map((t) => t.count)));
  const depth = Math.max(0, ...c.matrix.map((col) => col.techniques.length));
  const cell = (col: MatrixColumn, i: number): object => {
    const t = col.techniques[i];
    if (!t) return { empty: true };
    return {
      empty: false,
      tactic: col.tactic.id,
      id: t.id,
      name: t.name,
      count: t.count,
      shade: shade(t.count, max),
      href: t.count ? `index.html#tactic=${col.tactic.id}&technique=${t.id}` : '',
    };
  };
  const covered = new Set(c.matrix.flatMap((col) => col.techniques.filter((t) => t.count).map((t) => t.id)));
  return loadTemplates().attack({
    site: c.title,
    pageTitle: 'ATT&CK coverage',
    root: '',
    nav: nav('attack'),
    columns: c.matrix.map((col) => ({ id: col.tactic.id, name: col.tactic.name, count: col.count })),
    rows: Array.from({ length: depth }, (_, i) => c.matrix.map((col) => cell(col, i))),
    covered: covered.size,
    total: new Set(c.matrix.flatMap((col) => col.techniques.map((t) => t.id))).size,
    rules: c.rules.length,
    max,
    legend: [0, 1, 2, 3, 4, 5].map((s) => ({ shade: s })),
  });
}

/** The index's data: one short record per rule, the filters' choices, and nothing a page alone needs. */
export function indexData(c: Catalog): object {
  const techniques = new Map<string, string>();
  for (const col of c.matrix) for (const t of col.techniques) if (t.count) techniques.set(t.id, t.name);
  return {
    title: c.title,
    targets: c.targets,
    tactics: Object.fromEntries(c.matrix.map((col) => [col.tactic.id, col.tactic.name])),
    techniques: Object.fromEntries(techniques),
    rules: c.rules.map((r) => ({
      t: r.title,
      p: href(r.page),
      i: r.id ?? '',
      d: r.description ?? '',
      l: r.level ?? '',
      s: r.status ?? '',
      ls: logsourceText(r.logsource),
      f: r.path,
      // A rule tagged with a tactic alone is under it too: the tactic filter reads `ta`, tactic and technique together `a`.
      ta: r.attack.map((a) => a.tactic.id),
      a: r.placements.map((p) => `${p.tactic}/${p.technique}`),
      x: r.bodies.map((b) => (b.ok ? 1 : 0)),
    })),
  };
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort((a, b) => a.localeCompare(b, 'en'));
const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];

function indexPage(c: Catalog): string {
  const levels = sorted(c.rules.map((r) => r.level ?? '').filter(Boolean)).sort((a, b) => LEVELS.indexOf(a) - LEVELS.indexOf(b));
  const techniques = new Map<string, string>();
  for (const col of c.matrix) for (const t of col.techniques) if (t.count) techniques.set(t.id, t.name);
  return loadTemplates().index({
    site: c.title,
    pageTitle: c.title,
    root: '',
    nav: nav('index'),
    total: c.rules.length,
    targets: c.targets,
    tactics: c.matrix.filter((col) => col.count).map((col) => ({ id: col.tactic.id, name: col.tactic.name })),
    techniques: [...techniques].sort((a, b) => a[0].localeCompare(b[0], 'en')).map(([id, name]) => ({ id, name })),
    levels,
    statuses: sorted(c.rules.map((r) => r.status ?? '').filter(Boolean)),
    logsources: sorted(c.rules.map((r) => logsourceText(r.logsource))),
    support: c.targets.flatMap((t) => [
      { value: `${t}:ok`, label: `compiles for ${t}` },
      { value: `${t}:refused`, label: `refused by ${t}` },
    ]),
  });
}

/** Every file of the site, paths relative to its root with `/` separators. */
export function renderSite(c: Catalog, onProgress?: (done: number, total: number) => void): { path: string; content: string }[] {
  const files = [
    { path: 'index.html', content: indexPage(c) },
    { path: 'attack.html', content: attackPage(c) },
    { path: 'index-data.js', content: `window.RULEC_CATALOG = ${scriptJson(indexData(c))};\n` },
    { path: 'catalog.json', content: JSON.stringify(c) + '\n' },
    ...ASSETS.map((a) => ({ path: `assets/${a}`, content: readFileSync(backendFile('catalog', `assets/${a}`), 'utf8') })),
  ];
  for (const [i, r] of c.rules.entries()) {
    onProgress?.(i, c.rules.length);
    files.push({ path: r.page, content: rulePage(c, r) });
  }
  return files;
}
