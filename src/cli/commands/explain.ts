/**
 * `rulec explain <rule>`: a rule's catalog page (src/explain) as aligned text tables, or one JSON
 * object. The corpus for indicator counts is the rule's own folder tree unless --corpus names one.
 */
import { dirname, resolve } from 'node:path';
import { effectiveIr } from '../../collection/filters.js';
import { loadCollection } from '../../collection/load.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { formatDiagnostic } from '../../diag/diagnostic.js';
import { corpusIndex, explainRule } from '../../explain/index.js';
import { renderExplanation } from '../../explain/render.js';
import { loadTarget } from '../../targets/registry.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';

export interface ExplainCliOptions extends PlaceholderOptions, CacheOptions {
  target?: string;
  platform?: string;
  json?: boolean;
  corpus?: string[];
}

export async function runExplain(path: string, opts: ExplainCliOptions, io: Output, colour: boolean): Promise<number> {
  const target = await loadTarget(opts.target ?? 'kusto');
  if (opts.platform && !target.platforms.includes(opts.platform)) {
    throw new UsageError(`unknown platform '${opts.platform}' for target ${target.name}; valid platforms: ${target.platforms.join(', ')}`);
  }
  const placeholders = placeholderValues(opts);
  const cache = ruleCache(opts);
  const own = loadCollection([path], undefined, { placeholders, ...(cache ? { cache } : {}) });
  if (own.pathErrors.length) throw new UsageError(own.pathErrors.join('\n'));
  const docs = own.rules;
  if (docs.length === 0) throw new UsageError(`${path}: not a rule file (*.yml, *.yaml)`);
  const corpusRoots = opts.corpus?.length ? opts.corpus : [dirname(path)];
  const corpus = loadCollection(corpusRoots, undefined, { placeholders, ...(cache ? { cache } : {}) });
  cache?.close();
  if (corpus.pathErrors.length) throw new UsageError(corpus.pathErrors.join('\n'));
  const irs = effectiveIr(corpus.rules);
  const index = corpusIndex([...irs.values()]);
  const abs = resolve(path);
  const ownIrs = effectiveIr(docs);

  let failed = 0;
  let shown = 0;
  for (const loaded of docs) {
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length || !loaded.rule) {
      for (const d of errors) io.err(formatDiagnostic(loaded.path, d));
      failed++;
      continue;
    }
    if (loaded.rule.kind !== 'detection') continue;
    const refused = unfilledRefusal(loaded);
    if (refused) {
      io.err(`${loaded.path}:${refused.at.line}:${refused.at.column}: error: ${refused.error}`);
      failed++;
      continue;
    }
    const inCorpus = corpus.rules.some((r) => resolve(r.path) === abs && r.index === loaded.index && irs.has(r));
    const x = await explainRule(loaded.path, loaded.rule, ownIrs.get(loaded)!, { target: target.name, ...(opts.platform ? { platform: opts.platform } : {}), corpus: index, inCorpus });
    if (opts.json) io.json(x);
    else {
      if (shown > 0) io.out('');
      io.out(renderExplanation(x, { colour }).replace(/\n$/, ''));
    }
    shown++;
  }
  if (shown === 0 && failed === 0) throw new UsageError(`${path}: no detection rule to explain (correlation and filter rules have no page yet)`);
  return failed ? EXIT_FAILED : EXIT_OK;
}
