/**
 * The golden files of the EQL target (golden/eql/), computed from rules/: one `.eql` per rule and
 * golden platform, an `.unsupported.txt` with the reason where EQL cannot express the rule, and the
 * Elastic artifacts of a few rules; and the default platform `ecs` over a mixed folder
 * (test/fixtures/eql-ecs-rules: every kind of data it routes to), with the artifacts of every rule there, whose
 * index patterns differ by data; and the correlations of rules/correlation/ on `ecs`, as shipped and
 * with the opt-in `temporal_ordered_as_sequence` (`ecs-sequences/`). Shared by scripts/golden-eql.mjs (which writes them) and
 * test/eql/golden.test.ts (which compares them), so the two cannot drift apart.
 */
import { relative } from 'node:path';
import { effectiveIr } from '../../collection/filters.js';
import { loadCollection, ruleIndex, type LoadedRule } from '../../collection/load.js';
import { deepMerge, loadPlatformMapping } from '../../config/mapping.js';
import type { CorrelationRule, DetectionRule, LogSource } from '../../model/types.js';
import { baseInputs, type CompileInput, type CorrelationInput } from '../types.js';
import { compileEqlCorrelation } from './correlation.js';
import { compileEql } from './target.js';

export const GOLDEN_PLATFORMS = ['ecs-windows', 'raw'] as const;
/** The routing platform, golden over the mixed folder. */
export const GOLDEN_MIXED_PLATFORM = 'ecs';
/** Rules (relative to rules/) whose Elastic artifacts are golden too. */
export const GOLDEN_ARTIFACTS = ['seed/custom_script_extension_executable_drop.yml', 'windows/proc_creation_win_recon_command.yml', 'network/net_connection_win_suspicious_destination.yml'];

/** Correlations (relative to rules/) are golden on `ecs` as shipped and with these options merged in. */
export const GOLDEN_CORRELATIONS = { dir: 'correlation', platform: 'ecs', variants: { ecs: {}, 'ecs-sequences': { temporal_ordered_as_sequence: true } } } as const;

export interface GoldenFile {
  /** Relative to golden/eql/. */
  path: string;
  content: string;
  /** The rule's log source (not written; the golden test validates each query on its platform). */
  logsource: LogSource;
  /** A correlation's: the log sources of the rules it reads, and the platform (when the path does not name it). */
  logsources?: LogSource[];
  platform?: string;
}

export function goldenFiles(rulesDir: string, mixedDir: string): GoldenFile[] {
  const out: GoldenFile[] = [];
  for (const platform of GOLDEN_PLATFORMS) {
    out.push(...compileAll(rulesDir, platform, (rel) => (platform === 'ecs-windows' && GOLDEN_ARTIFACTS.includes(rel) ? ['query', 'elastic-ndjson', 'elastic-toml'] : ['query'])));
  }
  out.push(...compileAll(mixedDir, GOLDEN_MIXED_PLATFORM, () => ['query', 'elastic-ndjson', 'elastic-toml']));
  out.push(...compileCorrelations(rulesDir));
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function compileAll(dir: string, platform: string, formatsOf: (rel: string) => string[]): GoldenFile[] {
  const { rules } = loadCollection([dir]);
  const mapping = loadPlatformMapping('eql', platform);
  const out: GoldenFile[] = [];
  for (const [loaded, ir] of effectiveIr(rules)) {
    const rel = relative(dir, loaded.path);
    const stem = rel.replace(/\.ya?ml$/, '') + (loaded.index > 0 ? `.${loaded.index}` : '');
    const rule = loaded.rule as DetectionRule;
    const input = { path: loaded.path, rule, ir };
    for (const format of formatsOf(rel)) {
      const r = compileEql(input, { platform, format, mapping });
      if (r.ok) out.push({ path: `${platform}/${stem}.${r.ext}`, content: r.output, logsource: rule.logsource });
      else if (format === 'query') out.push({ path: `${platform}/${stem}.unsupported.txt`, content: `${r.kind}: ${r.error}\n`, logsource: rule.logsource });
    }
  }
  return out;
}

/** The correlations of a folder with their references resolved, as `rulec build` resolves them. */
export function correlationInputs(rulesDir: string): { loaded: LoadedRule; input: CorrelationInput }[] {
  const { rules } = loadCollection([rulesDir]);
  const irs = effectiveIr(rules);
  const index = ruleIndex(rules);
  const inputOf = (l: LoadedRule): CompileInput | CorrelationInput => {
    if (l.rule!.kind !== 'correlation') return { path: l.path, rule: l.rule as DetectionRule, ir: irs.get(l)! };
    const rule = l.rule as CorrelationRule;
    return { path: l.path, rule, refs: rule.correlation.rules.map((ref) => ({ ref, input: inputOf(index.resolve(ref)!) })) };
  };
  return rules.filter((l) => l.rule?.kind === 'correlation').map((loaded) => ({ loaded, input: inputOf(loaded) as CorrelationInput }));
}

function compileCorrelations(rulesDir: string): GoldenFile[] {
  const { dir, platform, variants } = GOLDEN_CORRELATIONS;
  const out: GoldenFile[] = [];
  for (const { loaded, input } of correlationInputs(rulesDir)) {
    const rel = relative(rulesDir, loaded.path);
    if (!rel.startsWith(`${dir}/`)) continue;
    const logsources = baseInputs(input).map((b) => b.rule.logsource);
    const stem = rel.replace(/\.ya?ml$/, '') + (loaded.index > 0 ? `.${loaded.index}` : '');
    for (const [name, extra] of Object.entries(variants)) {
      const mapping = deepMerge(loadPlatformMapping('eql', platform), extra);
      for (const format of ['query', 'elastic-ndjson', 'elastic-toml']) {
        const r = compileEqlCorrelation(input, { platform, format, mapping });
        const at = { logsource: logsources[0]!, logsources, platform };
        if (r.ok) out.push({ path: `${name}/${stem}.${r.ext}`, content: r.output, ...at });
        else if (format === 'query') out.push({ path: `${name}/${stem}.unsupported.txt`, content: `${r.kind}: ${r.error}\n`, ...at });
      }
    }
  }
  return out;
}
