import { formatDiagnostic } from '../../diag/diagnostic.js';
import { loadCollection } from '../../collection/load.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { progress } from '../progress.js';
import { placeholderValues, type PlaceholderOptions } from '../placeholders.js';

export interface CheckOptions extends PlaceholderOptions {
  json?: boolean;
  /** Print warnings too (human output). */
  warnings?: boolean;
}

export async function runCheck(paths: string[], opts: CheckOptions, io: Output): Promise<number> {
  const bar = progress('loading rules');
  const placeholders = placeholderValues(opts);
  const { rules, pathErrors } = loadCollection(paths.length ? paths : ['rules/'], (d, t) => bar.update(d, t), { placeholders });
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  if (rules.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${paths.join(', ') || 'rules/'}`);
  let invalid = 0;
  let warnings = 0;
  for (const r of rules) {
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    const ok = errors.length === 0 && (r.rule !== undefined);
    if (!ok) invalid++;
    warnings += r.diagnostics.length - errors.length;
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
      for (const d of r.diagnostics) if (d.severity === 'error' || opts.warnings) io.out(formatDiagnostic(r.path, d));
    }
  }
  if (!opts.json) {
    const w = warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}${opts.warnings ? '' : ' (--warnings to show)'}` : '';
    io.err(`${rules.length} rule${rules.length === 1 ? '' : 's'} checked: ${rules.length - invalid} valid, ${invalid} invalid${w}`);
  }
  return invalid > 0 ? EXIT_FAILED : EXIT_OK;
}
