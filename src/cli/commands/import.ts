/**
 * `rulec import --from kusto [--fields native|sigma] [--platform P] [--out DIR] [--json] [--cache DIR | --no-cache] [paths...|-]`:
 * native KQL rules into the rule model (src/import/kusto, docs/import.md). One rule per input, on
 * stdout (YAML documents separated by `---`) or as files under --out named from the titles; a
 * refused input is reported with the construct and its place, and the others are still imported.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { FIELD_MODES, IMPORT_PLATFORMS, importKusto, type FieldMode, type ImportResult } from '../../import/kusto/index.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { writeOutDir } from '../out-dir.js';
import { ruleCache, type CacheOptions } from '../cache.js';
import { decode, encode, hash, type PackEntry } from '../../collection/cache.js';

export interface ImportCliOptions extends CacheOptions {
  from?: string;
  fields?: string;
  platform?: string;
  out?: string;
  json?: boolean;
}

const INPUT_EXTENSIONS = ['.kql', '.txt', '.csl', '.yaml', '.yml', '.json'];
/** Read from a folder: `.txt` files are queries only when named (a folder's notes are not). */
const FOLDER_EXTENSIONS = ['.kql', '.csl', '.yaml', '.yml', '.json'];

/** The input files of the paths: files as given, directories searched for query and rule files. */
function inputFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (FOLDER_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

async function readStdin(io: Output): Promise<string> {
  if (!io.stdin) throw new UsageError('no standard input to read a query from');
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

export async function runImport(paths: string[], opts: ImportCliOptions, io: Output): Promise<number> {
  if (opts.from !== 'kusto') throw new UsageError(`--from ${opts.from ?? '(missing)'}: the importer reads kusto (KQL) rules; use --from kusto`);
  const fields = (opts.fields ?? 'native') as FieldMode;
  if (!FIELD_MODES.includes(fields)) throw new UsageError(`--fields ${opts.fields}: expected ${FIELD_MODES.join(' or ')}`);
  if (opts.platform && !(IMPORT_PLATFORMS as readonly string[]).includes(opts.platform)) {
    throw new UsageError(`--platform ${opts.platform}: expected ${IMPORT_PLATFORMS.join(' or ')}`);
  }
  if (paths.length === 0) throw new UsageError('give the KQL files, Sentinel rule files or directories to import, or - for standard input');
  const files = inputFiles(paths);
  if (files.length === 0) throw new UsageError(`no ${INPUT_EXTENSIONS.join(', ')} file under ${paths.join(', ')}`);

  // Parsing KQL (Kusto.Language) is most of an import's time: a result is cached under the input's
  // path and content (in a pack per option set and input list, in the code fingerprint's folder, so
  // a cached result is never different from a fresh one), and a warm run loads no parser at all.
  const cache = ruleCache(opts);
  const pack = cache?.path('import', hash('import', fields, opts.platform ?? '', ...files));
  const cached = new Map((pack ? (cache!.read<null>(pack) ?? []) : []).map((e) => [e.key, e.blob]));
  const entries: PackEntry<null>[] = [];
  let missed = false;
  const results: ImportResult[] = [];
  for (const f of files) {
    const text = f === '-' ? await readStdin(io) : readFileSync(f, 'utf8');
    const key = hash(f, text);
    let blob = cached.get(key);
    let r: ImportResult;
    if (blob) r = decode<ImportResult>(blob);
    else {
      r = importKusto(f, text, { fields, ...(opts.platform ? { platform: opts.platform } : {}) });
      blob = encode(r);
      missed = true;
    }
    entries.push({ key, meta: null, blob });
    results.push(r);
  }
  if (cache && pack) {
    if (missed || entries.length !== cached.size) cache.write(pack, entries);
    cache.close();
  }

  // File names from titles; a second rule of the same title gets a number.
  const names = new Map<ImportResult, string>();
  const taken = new Set<string>();
  for (const r of results) {
    if (!r.ok) continue;
    let name = r.fileName;
    for (let i = 2; taken.has(name); i++) name = r.fileName.replace(/\.yml$/, `_${i}.yml`);
    taken.add(name);
    names.set(r, name);
  }

  for (const r of results) {
    if (opts.json) {
      io.json(r.ok ? { path: r.path, ok: true, rule: r.rule, ...(opts.out ? { file: names.get(r) } : {}), notes: r.notes } : { path: r.path, ok: false, error: r.error, kind: r.kind, ...(r.construct ? { construct: r.construct } : {}) });
      continue;
    }
    if (!r.ok) {
      io.err(`${r.error} [${r.kind}]`);
      continue;
    }
    for (const n of r.notes) io.err(`${r.path}: note: ${n}`);
    if (!opts.out) io.out(`---\n${r.rule.trimEnd()}`);
  }
  if (opts.out) {
    const written = writeOutDir(
      opts.out,
      { target: 'import-kusto', platform: opts.platform ?? 'auto', format: fields },
      results.filter((r) => r.ok).map((r) => ({ path: names.get(r)!, content: (r as Extract<ImportResult, { ok: true }>).rule })),
    );
    for (const f of written.refused) io.err(`${opts.out}/${f.path}: not written: ${f.why}`);
    if (!opts.json) io.err(`imported ${results.filter((r) => r.ok).length} of ${results.length} into ${opts.out}`);
    if (written.refused.length) return EXIT_FAILED;
  }
  return results.every((r) => r.ok) ? EXIT_OK : EXIT_FAILED;
}
