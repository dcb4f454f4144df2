import { formatDiagnostic } from '../../diag/diagnostic.js';
import { loadCollection } from '../../collection/load.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';

/** Dump the match IR of each rule, one JSON object a line: the input of every backend. */
export function runIr(paths: string[], io: Output, opts: PlaceholderOptions & CacheOptions = {}): number {
  const cache = ruleCache(opts);
  const { rules, pathErrors } = loadCollection(paths.length ? paths : ['rules/'], undefined, { placeholders: placeholderValues(opts), ...(cache ? { cache } : {}) });
  cache?.close();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  let failed = 0;
  for (const r of rules) {
    for (const d of r.diagnostics) if (d.severity === 'error') io.err(formatDiagnostic(r.path, d));
    if (r.rule?.kind === 'correlation') continue;
    if (!r.ir) {
      const refused = unfilledRefusal(r);
      if (refused) io.err(`${r.path}:${refused.at.line}:${refused.at.column}: error: ${refused.error}`);
      failed++;
      continue;
    }
    io.json({ path: r.path, id: r.id ?? null, title: r.title ?? null, kind: r.rule?.kind, ir: r.ir });
  }
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}
