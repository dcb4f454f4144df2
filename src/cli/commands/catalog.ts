/**
 * `rulec catalog [paths...] --out DIR`: the static HTML catalog of a rule collection (src/catalog),
 * written atomically under the out-dir rules of `build --out` (only files this command wrote are
 * ever replaced or removed).
 */
import { join, sep } from 'node:path';
import { buildCatalog, CATALOG_BODY_TARGETS, type Catalog, type CatalogInput } from '../../catalog/index.js';
import { renderSite } from '../../catalog/render.js';
import { effectiveIr } from '../../collection/filters.js';
import { loadCollectionParallel } from '../../collection/parallel.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { loadJobs, type JobsOptions } from '../jobs.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { corpusIndex } from '../../explain/index.js';
import { missingDirs } from '../../util/atomic.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import { reportOutDir, ruleStems, writeOutDir } from '../out-dir.js';
import type { Output } from '../output.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';
import { progress } from '../progress.js';

export interface CatalogCliOptions extends PlaceholderOptions, CacheOptions, JobsOptions {
  out: string;
  title?: string;
  /** Repeated or comma-separated; default every target of CATALOG_BODY_TARGETS. */
  target?: string[];
}

export const DEFAULT_TITLE = 'Detection catalog';

function targetsOf(opts: CatalogCliOptions): string[] {
  if (!opts.target?.length) return [...CATALOG_BODY_TARGETS];
  const names = opts.target.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  const bad = names.find((n) => !(CATALOG_BODY_TARGETS as readonly string[]).includes(n));
  if (bad !== undefined) throw new UsageError(`--target: unknown target '${bad}'; valid targets: ${CATALOG_BODY_TARGETS.join(', ')}`);
  if (names.length === 0) throw new UsageError(`--target: no target named; valid targets: ${CATALOG_BODY_TARGETS.join(', ')}`);
  return [...new Set(names)];
}

export async function runCatalog(paths: string[], opts: CatalogCliOptions, io: Output): Promise<number> {
  const targets = targetsOf(opts);
  const title = opts.title?.trim() || DEFAULT_TITLE;
  // An --out through a file is reported before any work is done (and nothing is created yet).
  missingDirs(opts.out);
  const roots = paths.length ? paths : ['rules/'];
  const since = Date.now();
  const loading = progress('loading rules', undefined, { since });
  const cache = ruleCache(opts);
  const jobs = loadJobs(opts);
  const { rules, pathErrors } = await loadCollectionParallel(roots, (d, t) => loading.update(d, t), { placeholders: placeholderValues(opts), ...(cache ? { cache } : {}), ...(jobs ? { jobs } : {}) });
  cache?.close();
  loading.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  if (rules.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${roots.join(', ')}`);

  const irs = effectiveIr(rules);
  const skipped: Catalog['skipped'] = [];
  const pages: Omit<CatalogInput, 'page'>[] = [];
  let invalid = 0;
  for (const loaded of rules) {
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0 || !loaded.rule) {
      for (const d of errors) io.err(formatDiagnostic(loaded.path, d));
      skipped.push({ path: loaded.path, index: loaded.index, reason: errors[0]?.message ?? 'invalid rule' });
      invalid++;
      continue;
    }
    if (loaded.rule.kind !== 'detection') {
      skipped.push({ path: loaded.path, index: loaded.index, reason: `${loaded.rule.kind} rules have no page yet` });
      continue;
    }
    const ir = irs.get(loaded)!;
    const refused = unfilledRefusal(loaded);
    if (refused) {
      io.err(`${loaded.path}:${refused.at.line}:${refused.at.column}: skipped: ${refused.error}`);
      skipped.push({ path: loaded.path, index: loaded.index, reason: refused.error });
      continue;
    }
    pages.push({ path: loaded.path, index: loaded.index, rule: loaded.rule, ir });
  }
  const stems = ruleStems(pages, roots);
  const inputs: CatalogInput[] = pages.map((p, i) => ({ ...p, page: `rules/${stems[i]!.split(sep).join('/')}.html` }));

  const explaining = progress('explaining rules', undefined, { since });
  // Indicator counts over every rule of the collection, once: each page reads its own from them.
  const catalog = await buildCatalog(inputs, { title, targets, corpus: corpusIndex(irs.values()), onProgress: (d, t) => explaining.update(d, t) });
  explaining.done();

  const rendering = progress('rendering pages', undefined, { since });
  const files = renderSite({ ...catalog, skipped }, (d, t) => rendering.update(d, t));
  rendering.done();
  const writing = progress('writing the site', undefined, { since });
  const written = writeOutDir(opts.out, { target: 'catalog', platform: 'site', format: 'html' }, files, (d, t) => writing.update(d, t));
  writing.done();
  reportOutDir(io, opts.out, written);
  io.err(
    `catalog: ${catalog.rules.length} rule page${catalog.rules.length === 1 ? '' : 's'}` +
      (skipped.length ? `, ${skipped.length} rule document${skipped.length === 1 ? '' : 's'} without a page (${invalid} invalid)` : '') +
      ` -> ${join(opts.out, 'index.html')} (${((Date.now() - since) / 1000).toFixed(1)} s)`,
  );
  return invalid || written.refused.length ? EXIT_FAILED : EXIT_OK;
}
