/**
 * `rulec build`: the CLI contract shared by every target. Loads the rules, compiles each detection
 * rule with the chosen target, optionally validates the queries, and prints them or writes one file
 * per rule (atomically) under --out.
 */
import { basename, extname, join, relative } from 'node:path';
import { statSync } from 'node:fs';
import type { Diagnostic } from '../../diag/diagnostic.js';
import { effectiveIr } from '../../collection/filters.js';
import { loadCollection, type LoadedRule } from '../../collection/load.js';
import { loadPlatformMapping } from '../../config/mapping.js';
import { loadTarget } from '../../targets/registry.js';
import type { CompileInput, CompileResult, Target, TargetOptions } from '../../targets/types.js';
import { missingDirs, writeFileAtomic } from '../../util/atomic.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { progress } from '../progress.js';
import { placeholderValues, unfilledRefusal, type PlaceholderOptions } from '../placeholders.js';

export interface BuildOptions extends PlaceholderOptions {
  target: string;
  platform?: string;
  format?: string;
  mapping?: string[];
  out?: string;
  json?: boolean;
  validate?: boolean;
  skipUnsupported?: boolean;
  index?: string;
  enable?: boolean;
}

interface Entry {
  loaded: LoadedRule;
  input?: CompileInput;
  result: CompileResult | { ok: false; kind: 'invalid' | 'unsupported'; error: string; at?: { line: number; column: number } };
  /** Output file, relative to --out. */
  file?: string;
}

export async function runBuild(paths: string[], opts: BuildOptions, io: Output): Promise<number> {
  const target = await loadTarget(opts.target);
  const platform = opts.platform ?? target.platforms[0]!;
  if (!target.platforms.includes(platform)) {
    throw new UsageError(`unknown platform '${platform}' for target ${target.name}; valid platforms: ${target.platforms.join(', ')}`);
  }
  const format = opts.format ?? 'query';
  if (!target.formats.includes(format)) {
    throw new UsageError(`unknown format '${format}' for target ${target.name}; valid formats: ${target.formats.join(', ')}`);
  }
  const mapping = loadPlatformMapping(target.name, platform, opts.mapping ?? []);
  const topts: TargetOptions = { platform, format, mapping, ...artifactOptions(target, opts) };

  // An --out through a file is reported before any work is done (and nothing is created yet).
  if (opts.out) missingDirs(opts.out);
  const roots = paths.length ? paths : ['rules/'];
  const placeholders = placeholderValues(opts);
  const bar = progress('loading rules');
  const { rules, pathErrors } = loadCollection(roots, (d, t) => bar.update(d, t), { placeholders });
  bar.done();
  if (pathErrors.length > 0) throw new UsageError(pathErrors.join('\n'));
  if (rules.length === 0) throw new UsageError(`no rule files (*.yml, *.yaml) found in ${roots.join(', ')}`);

  const irs = effectiveIr(rules);
  const entries: Entry[] = [];
  for (const loaded of rules) {
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0 || !loaded.rule) {
      const first = errors[0];
      entries.push({
        loaded,
        result: { ok: false, kind: 'invalid', error: first ? `invalid rule: ${first.message}` : 'invalid rule', ...(first ? { at: { line: first.line, column: first.column } } : {}) },
      });
      continue;
    }
    if (loaded.rule.kind === 'filter') continue;
    if (loaded.rule.kind === 'correlation') {
      entries.push({ loaded, result: { ok: false, kind: 'unsupported', error: `correlation rules are not compiled to ${target.name} yet` } });
      continue;
    }
    const refused = unfilledRefusal(loaded);
    if (refused) {
      entries.push({ loaded, result: { ok: false, kind: 'unsupported', ...refused } });
      continue;
    }
    const input: CompileInput = { path: loaded.path, rule: loaded.rule, ir: irs.get(loaded)! };
    entries.push({ loaded, input, result: target.compile(input, topts) });
  }

  if (opts.validate && target.validate) {
    const okEntries = entries.filter((e) => e.result.ok && e.input);
    const keyed = okEntries.map((e, i) => ({ key: String(i), query: (e.result as { query: string }).query, input: e.input! }));
    const diags = await target.validate(keyed, topts);
    okEntries.forEach((e, i) => {
      const d: Diagnostic[] = diags.get(String(i)) ?? [];
      const errs = d.filter((x) => x.severity === 'error');
      if (errs.length) {
        e.result = { ok: false, kind: 'unsupported', error: `emitted query does not validate: ${errs.map((x) => x.message).join('; ')}` };
        // A query we emitted that fails validation is our defect, never skippable.
        (e.result as { kind: string }).kind = 'invalid';
      }
    });
  }

  assignFiles(entries, roots);
  let failed = 0;
  let skipped = 0;
  let compiled = 0;
  const bundleInputs: { input: CompileInput; result: Extract<CompileResult, { ok: true }> }[] = [];
  const buildNotes = new Map<string, number>();
  for (const e of entries) {
    const r = e.result;
    const skippable = !r.ok && (r.kind === 'unsupported' || r.kind === 'mapping');
    if (r.ok) compiled++;
    else if (skippable && opts.skipUnsupported) skipped++;
    else failed++;
    if (opts.json) {
      io.json({
        path: e.loaded.path,
        ...(e.loaded.index > 0 ? { document: e.loaded.index } : {}),
        id: e.loaded.id ?? null,
        title: e.loaded.title ?? null,
        target: target.name,
        platform,
        format,
        ok: r.ok,
        ...(r.ok
          ? { query: r.query, ...(r.source ? { source: r.source } : {}), ...(format !== 'query' && !target.bundle ? { output: r.output } : {}), ...(r.notes?.length || r.buildNotes?.length ? { notes: [...(r.notes ?? []), ...(r.buildNotes ?? [])] } : {}) }
          : { error: r.error, kind: r.kind, ...(skippable && opts.skipUnsupported ? { skipped: true } : {}) }),
      });
    } else if (!r.ok) {
      const at = 'at' in r && r.at ? r.at : (e.loaded.rule?.at ?? { line: 1, column: 1 });
      const word = skippable && opts.skipUnsupported ? 'skipped' : 'error';
      io.err(`${e.loaded.path}:${at.line}:${at.column}: ${word}: ${r.error}`);
    } else if (r.notes?.length) {
      for (const n of r.notes) io.err(`${e.loaded.path}: note: ${n}`);
    }
    if (r.ok) for (const n of r.buildNotes ?? []) buildNotes.set(n, (buildNotes.get(n) ?? 0) + 1);
    if (r.ok && e.input) bundleInputs.push({ input: e.input, result: r });
  }

  const bundled = target.bundle?.(format, bundleInputs, topts);
  if (opts.out) {
    if (bundled) for (const f of bundled) writeFileAtomic(join(opts.out, f.path), f.content);
    else for (const e of entries) if (e.result.ok && e.file) writeFileAtomic(join(opts.out, e.file), e.result.output);
  } else if (!opts.json) {
    if (bundled) for (const f of bundled) io.out(f.content.replace(/\n$/, ''));
    else for (const e of entries) if (e.result.ok) io.out(e.result.output.replace(/\n$/, '') + '\n');
  }
  for (const [n, count] of buildNotes) io.err(`note: ${n} (${count} rule${count === 1 ? '' : 's'})`);
  if (!opts.json || opts.out) {
    const parts = [`${compiled} compiled`];
    if (skipped) parts.push(`${skipped} skipped (unsupported)`);
    if (failed) parts.push(`${failed} failed`);
    io.err(`${target.name}/${platform}: ${entries.length} rule${entries.length === 1 ? '' : 's'}: ${parts.join(', ')}${opts.out ? ` -> ${opts.out}` : ''}`);
  }
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/** --index and --enable, for the targets that read them. */
function artifactOptions(target: Target, opts: BuildOptions): Pick<TargetOptions, 'index' | 'enable'> {
  const out: Pick<TargetOptions, 'index' | 'enable'> = {};
  for (const [name, given] of [['index', opts.index !== undefined], ['enable', opts.enable === true]] as const) {
    if (given && !target.artifactOptions?.includes(name)) throw new UsageError(`--${name} does not apply to target ${target.name}`);
  }
  if (opts.index !== undefined) {
    const names = opts.index.split(',').map((x) => x.trim());
    const badName = names.find((n) => !/^[A-Za-z0-9_*][A-Za-z0-9_.*:-]*$/.test(n));
    if (badName !== undefined) throw new UsageError(`--index: '${badName}' is not an index name (letters, digits, _ . * : -; comma-separated)`);
    out.index = names;
  }
  if (opts.enable) out.enable = true;
  return out;
}

/** One output file per rule, mirroring the rule's path below the root it was found in. */
function assignFiles(entries: Entry[], roots: string[]): void {
  const dirs = roots.filter((r) => {
    try {
      return statSync(r).isDirectory();
    } catch {
      return false;
    }
  });
  const used = new Set<string>();
  for (const e of entries) {
    if (!e.result.ok) continue;
    const p = e.loaded.path;
    const root = dirs.find((d) => !relative(d, p).startsWith('..'));
    const rel = root ? relative(root, p) : basename(p);
    let stem = rel.slice(0, rel.length - extname(rel).length);
    if (e.loaded.index > 0) stem += `.${e.loaded.index}`;
    let file = `${stem}.${e.result.ext}`;
    for (let n = 2; used.has(file); n++) file = `${stem}-${n}.${e.result.ext}`;
    used.add(file);
    e.file = file;
  }
}
