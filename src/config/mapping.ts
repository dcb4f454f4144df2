/**
 * Backend data files (backends/<target>/*.yml): the only reader of backends/. A platform's mapping
 * is its base file merged with any user files given by --mapping (maps merge key by key, later files
 * win; lists and scalars are replaced). Problems are reported with file:line:col.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { documentValue, readFast } from '../parse/yaml-reader.js';
import { UsageError } from '../diag/diagnostic.js';

export const BACKENDS_DIR = new URL('../../backends/', import.meta.url);

export function backendFile(target: string, name: string): URL {
  return new URL(`${target}/${name}`, BACKENDS_DIR);
}

/** Platforms of a target: the `<platform>.yml` files in backends/<target>/. */
export function listPlatforms(target: string): string[] {
  const dir = new URL(`${target}/`, BACKENDS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') && !f.startsWith('_'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** Parse one YAML data file; a syntax error is a usage error naming file:line:col. */
export function readYamlFile(path: string | URL): unknown {
  const shown = typeof path === 'string' ? path : path.pathname;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read mapping file ${shown}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // The project's fast reader where the file is surely in its subset (a tenth of the library's
  // cost; the same value, src/parse/yaml-reader.ts); the library for the rest and for every error.
  const fast = readFast(text);
  if (fast && fast.docs.length === 1 && fast.docs[0]!.contents !== null) return documentValue(fast.docs[0]!);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const p = lc.linePos(e.pos[0]);
    throw new UsageError(`${shown}:${p.line}:${p.col}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

export function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  return over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The merged mapping of a platform: backends/<target>/<platform>.yml, then each user file. */
export function loadPlatformMapping(target: string, platform: string, userFiles: string[] = []): unknown {
  const platforms = listPlatforms(target);
  if (!platforms.includes(platform)) {
    throw new UsageError(`unknown platform '${platform}' for target ${target}; valid platforms: ${platforms.join(', ')}`);
  }
  let data = readYamlFile(backendFile(target, `${platform}.yml`));
  for (const f of userFiles) data = deepMerge(data, readYamlFile(f));
  return data;
}
