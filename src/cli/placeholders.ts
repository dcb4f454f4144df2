/**
 * The deployment's placeholder values (`--placeholders FILE`, `--placeholder name=value`), shared by
 * check, build, scan, test and ir, and the refusal of a rule whose placeholders have no value.
 */
import { readFileSync } from 'node:fs';
import type { LoadedRule } from '../collection/load.js';
import { formatDiagnostic, type Position } from '../diag/diagnostic.js';
import type { Parameter } from '../model/types.js';
import { parsePlaceholderFile, parsePlaceholderPairs } from '../parse/placeholders.js';
import { UsageError } from './exit-codes.js';
import type { PlaceholderOptions } from './placeholder-options.js';

export { placeholderOptions, type PlaceholderOptions } from './placeholder-options.js';

/**
 * The values, for the loader: the file's, then the command line's, a name given on the command line
 * replacing the file's list of that name whole (the more specific setting wins, never a mix).
 * Problems are usage errors (exit 2), located in the file.
 */
export function placeholderValues(opts: PlaceholderOptions): Map<string, Parameter> {
  const values = new Map<string, Parameter>();
  if (opts.placeholders !== undefined) {
    const file = opts.placeholders;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--placeholders ${file}: cannot read the file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const parsed = parsePlaceholderFile(text);
    if (parsed.diagnostics.length > 0) throw new UsageError(parsed.diagnostics.map((d) => formatDiagnostic(file, d)).join('\n'));
    for (const [k, v] of parsed.values) values.set(k, v);
  }
  const pairs = parsePlaceholderPairs(opts.placeholder ?? []);
  if ('error' in pairs) throw new UsageError(pairs.error);
  for (const [k, v] of pairs.values) values.set(k, v);
  return values;
}

/** Why a loaded rule cannot be compiled or run for want of placeholder values, or undefined. */
export function unfilledRefusal(r: LoadedRule): { error: string; at: Position } | undefined {
  const u = r.unfilled;
  if (!u || u.length === 0) return undefined;
  return { error: u.map((d) => d.message).join('; '), at: { line: u[0]!.line, column: u[0]!.column } };
}
