import { error, formatDiagnostic, warning, type Diagnostic } from '../../diag/diagnostic.js';
import type { LoadedRule } from '../../collection/load.js';
import { fieldPositions, loadCatalog, unknownNames, type PlatformEntry } from '../catalog.js';
import { loadCollectionParallel } from '../../collection/parallel.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { loadJobs, type JobsOptions } from '../jobs.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { progress } from '../progress.js';
import { placeholderValues, type PlaceholderOptions } from '../placeholders.js';

export interface CheckOptions extends PlaceholderOptions, CacheOptions, JobsOptions {
  json?: boolean;
  /** Print warnings too (human output). */
  warnings?: boolean;
  /** Log sources and fields that no platform knows are errors instead of warnings. */
  strict?: boolean;
}

/** Shown without --warnings: a misspelt log source, field or placeholder name makes a rule that silently matches nothing or is left out. */
const ALWAYS_SHOWN = new Set(['unknown-logsource', 'unknown-field', 'placeholder-unfilled']);

export async function runCheck(paths: string[], opts: CheckOptions, io: Output): Promise<number> {
  const placeholders = placeholderValues(opts);
  const since = Date.now();
  const bar = progress('loading rules', undefined, { since });
  const cache = ruleCache(opts);
  const jobs = loadJobs(opts);
  const { rules, pathErrors } = await loadCollectionParallel(paths.length ? paths : ['rules/'], (d, t) => bar.update(d, t), { placeholders, ...(cache ? { cache } : {}), ...(jobs ? { jobs } : {}) });
  cache?.close();
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  if (rules.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${paths.join(', ') || 'rules/'}`);
  const catalog = await loadCatalog();
  const names = progress('checking log sources and fields', undefined, { since });
  for (const [i, r] of rules.entries()) {
    names.update(i, rules.length);
    r.diagnostics.push(...namesCheck(catalog, r, opts.strict === true));
  }
  names.done();
  let invalid = 0;
  let warnings = 0;
  let hidden = 0;
  for (const r of rules) {
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    const ok = errors.length === 0 && (r.rule !== undefined);
    if (!ok) invalid++;
    warnings += r.diagnostics.length - errors.length;
    hidden += r.diagnostics.filter((d) => d.severity === 'warning' && !ALWAYS_SHOWN.has(d.code)).length;
    if (opts.json) {
      io.json({
        path: r.path,
        ...(r.index > 0 ? { document: r.index } : {}),
        id: r.id ?? null,
        title: r.title ?? null,
        ok,
        errors: errors.map((d) => ({ message: d.message, line: d.line, column: d.column, code: d.code })),
        warnings: r.diagnostics.filter((d) => d.severity === 'warning').map((d) => ({ message: d.message, line: d.line, column: d.column, code: d.code })),
      });
    } else {
      for (const d of r.diagnostics) if (d.severity === 'error' || opts.warnings || ALWAYS_SHOWN.has(d.code)) io.out(formatDiagnostic(r.path, d));
    }
  }
  if (!opts.json) {
    const w = warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}${opts.warnings || hidden === 0 ? '' : ' (--warnings to show)'}` : '';
    io.err(`${rules.length} rule${rules.length === 1 ? '' : 's'} checked: ${rules.length - invalid} valid, ${invalid} invalid${w}`);
  }
  return invalid > 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * Log source values and fields of a valid detection rule that neither the Sigma log sources of any
 * platform mapping nor their fields know, with "did you mean".
 */
function namesCheck(catalog: PlatformEntry[], r: LoadedRule, strict: boolean): Diagnostic[] {
  const rule = r.rule;
  if (rule?.kind !== 'detection' || r.diagnostics.some((d) => d.severity === 'error')) return [];
  // A native rule's names are one table's columns, not Sigma's; the Kusto target checks them against
  // the table's schema when it builds the rule (a `mapping` refusal naming the columns).
  if (rule.native) return [];
  const fieldAt = fieldPositions(rule);
  const make = strict ? error : warning;
  const tail = strict ? '' : '; --strict makes this an error';
  return unknownNames(catalog, rule.logsource, [...fieldAt.keys()]).map((u) => {
    const near = u.suggestion ? `; did you mean '${u.suggestion}'?` : '';
    if (u.key === 'field') {
      return make('unknown-field', `field '${u.value}' is not a field any platform maps for this log source${near}${tail ? ` (${tail.slice(2)})` : ''}`, fieldAt.get(u.value));
    }
    return make('unknown-logsource', `log source ${u.key} '${u.value}' is not one any platform maps${near} (rulec list logsources${tail})`, rule.logsourceAt?.[u.key] ?? rule.at);
  });
}
