/**
 * Finding rule files below the paths given. Its own module, without the parser: a build replayed
 * from its record (cli/build-record.ts) lists the files and loads nothing else.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RULE_EXT = /\.ya?ml$/i;

/** Expand directories recursively (sorted, so output order is stable); files are taken as given. */
export function findRuleFiles(paths: string[]): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && RULE_EXT.test(e.name)) files.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      errors.push(`${p}: no such file or directory`);
      continue;
    }
    if (st.isDirectory()) walk(p);
    else files.push(p);
  }
  return { files, errors };
}

/**
 * Below this many bytes of rule files to parse, the default is to load on the calling thread:
 * starting a worker (its modules, the schema validator) costs about what parsing 1 to 2 MB of
 * rules does (see docs/performance.md).
 */
export const PARALLEL_MIN_BYTES = 2 << 20;
