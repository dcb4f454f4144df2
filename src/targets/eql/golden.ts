/**
 * The golden files of the EQL target (golden/eql/), computed from rules/: one `.eql` per rule and
 * golden platform, an `.unsupported.txt` with the reason where EQL cannot express the rule, and the
 * Elastic artifacts of a few rules. Shared by scripts/golden-eql.mjs (which writes them) and
 * test/eql/golden.test.ts (which compares them), so the two cannot drift apart.
 */
import { relative } from 'node:path';
import { effectiveIr } from '../../collection/filters.js';
import { loadCollection } from '../../collection/load.js';
import { loadPlatformMapping } from '../../config/mapping.js';
import type { DetectionRule } from '../../model/types.js';
import { compileEql } from './target.js';

export const GOLDEN_PLATFORMS = ['ecs-windows', 'raw'] as const;
/** Rules (relative to rules/) whose Elastic artifacts are golden too. */
export const GOLDEN_ARTIFACTS = ['seed/custom_script_extension_executable_drop.yml', 'windows/proc_creation_win_recon_command.yml', 'network/net_connection_win_suspicious_destination.yml'];

export interface GoldenFile {
  /** Relative to golden/eql/. */
  path: string;
  content: string;
}

export function goldenFiles(rulesDir: string): GoldenFile[] {
  const { rules } = loadCollection([rulesDir]);
  const irs = effectiveIr(rules);
  const out: GoldenFile[] = [];
  for (const platform of GOLDEN_PLATFORMS) {
    const mapping = loadPlatformMapping('eql', platform);
    for (const [loaded, ir] of irs) {
      const rel = relative(rulesDir, loaded.path);
      const stem = rel.replace(/\.ya?ml$/, '') + (loaded.index > 0 ? `.${loaded.index}` : '');
      const input = { path: loaded.path, rule: loaded.rule as DetectionRule, ir };
      const formats = platform === 'ecs-windows' && GOLDEN_ARTIFACTS.includes(rel) ? ['query', 'elastic-ndjson', 'elastic-toml'] : ['query'];
      for (const format of formats) {
        const r = compileEql(input, { platform, format, mapping });
        if (r.ok) out.push({ path: `${platform}/${stem}.${r.ext}`, content: r.output });
        else if (format === 'query') out.push({ path: `${platform}/${stem}.unsupported.txt`, content: `${r.kind}: ${r.error}\n` });
      }
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
