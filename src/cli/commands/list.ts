/**
 * `rulec list targets|platforms|formats|logsources|fields <logsource>`: what exists, from the
 * targets themselves and their mapping data (see ../catalog.ts), as text or one JSON object a line.
 */
import { closest } from '../../diag/diagnostic.js';
import { loadTarget, targetNames } from '../../targets/registry.js';
import type { Target } from '../../targets/types.js';
import { loadCatalog, logSourceText, parseLogSource, serves, type PlatformEntry } from '../catalog.js';
import { EXIT_OK, UsageError } from '../exit-codes.js';
import type { Output } from '../output.js';

export const LIST_SUBJECTS = ['targets', 'platforms', 'formats', 'logsources', 'fields'] as const;

export interface ListOptions {
  json?: boolean;
  target?: string;
  platform?: string;
}

/** Every target, loaded (the ts target takes about a second): for `list` and `--help`. */
export async function describeTargets(only?: string): Promise<Target[]> {
  return Promise.all((only ? [only] : targetNames()).map((n) => loadTarget(n)));
}

/** The help text that lists every target with its platforms (the first the default) and formats. */
export function targetsHelp(targets: Target[]): string {
  const w = Math.max(...targets.map((t) => t.name.length));
  return [
    '',
    'Targets (platforms, the first being the default; formats):',
    ...targets.map((t) => `  ${t.name.padEnd(w)}  --platform ${t.platforms.join('|')}  --format ${t.formats.join('|')}`),
    '',
    'rulec list logsources and rulec list fields <product/category/service> show what each platform maps.',
  ].join('\n');
}

/** What `scan --help` adds: the inputs it reads and the platforms --mapping can read back. */
export function scanHelp(targets: Target[]): string {
  const back = targets.filter((t) => t.eventFields).flatMap((t) => t.platforms.map((p) => `${t.name}/${p}`));
  return [
    '',
    'Inputs: JSON Lines or one JSON array per file; Windows events as evtx_dump writes them ({"Event": {"System": ..., "EventData": ...}}), or flat JSON.',
    'Events are routed by Channel and EventID; give --logsource for events without them (rulec list logsources).',
    `--mapping TARGET/PLATFORM reads back: ${back.join(', ')}`,
  ].join('\n');
}

export async function runList(subject: string, args: string[], opts: ListOptions, io: Output): Promise<number> {
  if (!(LIST_SUBJECTS as readonly string[]).includes(subject)) {
    const near = closest(subject, LIST_SUBJECTS);
    throw new UsageError(`unknown list '${subject}'${near ? ` (did you mean '${near}'?)` : ''}; valid: ${LIST_SUBJECTS.join(', ')}`);
  }
  if (subject !== 'fields' && args.length > 0) throw new UsageError(`rulec list ${subject} takes no argument (got '${args[0]}')`);
  const targets = await describeTargets(opts.target);
  if (opts.platform) {
    const all = targets.flatMap((t) => t.platforms);
    if (!all.includes(opts.platform)) throw new UsageError(`unknown platform '${opts.platform}'; valid platforms: ${[...new Set(all)].join(', ')}`);
  }
  const rows: { text: string; json: Record<string, unknown> }[] = [];
  switch (subject) {
    case 'targets':
      for (const t of targets) {
        rows.push({ text: `${t.name}  platforms: ${t.platforms.join(', ')}  formats: ${t.formats.join(', ')}`, json: { target: t.name, platforms: t.platforms, formats: t.formats } });
      }
      break;
    case 'platforms':
      for (const t of targets) {
        t.platforms.forEach((p, i) => rows.push({ text: `${t.name}/${p}${i === 0 ? '  (default)' : ''}`, json: { target: t.name, platform: p, default: i === 0 } }));
      }
      break;
    case 'formats':
      for (const t of targets) for (const f of t.formats) rows.push({ text: `${t.name}  ${f}`, json: { target: t.name, format: f } });
      break;
    case 'logsources': {
      const byLs = new Map<string, { ls: PlatformEntry['logsource']; where: Set<string> }>();
      for (const e of await catalog(opts)) {
        const key = logSourceText(e.logsource);
        const row = byLs.get(key) ?? { ls: e.logsource, where: new Set<string>() };
        row.where.add(`${e.target}/${e.platform}`);
        byLs.set(key, row);
      }
      for (const [key, { ls, where }] of [...byLs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        rows.push({ text: `${key || '(any log source)'}  ${[...where].join(', ')}`, json: { logsource: ls, platforms: [...where] } });
      }
      break;
    }
    case 'fields': {
      if (args.length !== 1) throw new UsageError('rulec list fields takes one log source: product/category/service (e.g. windows/process_creation, windows//security)');
      const ls = parseLogSource(args[0]!, 'rulec list fields');
      const entries = await catalog(opts);
      const serving = entries.filter((e) => serves(e.logsource, ls));
      // An entry that requires only the product (a platform's own fields) serves every log source of
      // it, a misspelt one too: the log source is known when an entry names its category or service.
      if (!serving.some((e) => e.logsource.category !== undefined || e.logsource.service !== undefined || (ls.category === undefined && ls.service === undefined))) {
        const known = [...new Set(entries.map((e) => logSourceText(e.logsource)))];
        const near = closest(logSourceText(ls), known);
        throw new UsageError(`no platform maps log source ${logSourceText(ls)}${near ? `; did you mean ${near}?` : ''} (rulec list logsources)`);
      }
      const byField = new Map<string, Set<string>>();
      for (const e of serving) for (const f of e.fields) byField.set(f, (byField.get(f) ?? new Set()).add(`${e.target}/${e.platform}`));
      for (const [f, where] of [...byField].sort(([a], [b]) => a.localeCompare(b))) rows.push({ text: `${f}  ${[...where].join(', ')}`, json: { field: f, platforms: [...where] } });
      break;
    }
  }
  for (const r of rows) {
    if (opts.json) io.json(r.json);
    else io.out(r.text);
  }
  return EXIT_OK;
}

async function catalog(opts: ListOptions): Promise<PlatformEntry[]> {
  const entries = await loadCatalog(opts.target ? [opts.target] : undefined);
  return entries.filter((e) => (!opts.target || e.target === opts.target) && (!opts.platform || e.platform === opts.platform));
}
