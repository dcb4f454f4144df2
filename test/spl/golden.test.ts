/**
 * Golden files: golden/spl/<platform>/<rule path>.spl for every rule of rules/ on every platform,
 * correlation rules included (`.1.spl` for a file's second document; `.error` holds the reason when
 * a platform cannot map the rule), and the savedsearches app folder of rules/ for the default
 * platform. Every golden query parses. Regenerate with
 * `npm run golden:spl` and read the diff.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection, ruleIndex, type LoadedRule } from '../../src/collection/load.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import type { CorrelationRule, DetectionRule } from '../../src/model/types.js';
import { parsePipeline, parseQuery } from '../../src/targets/spl/parser.js';
import { PLATFORMS, splTarget } from '../../src/targets/spl/target.js';
import type { CompileInput, CompileResult, CorrelationInput } from '../../src/targets/types.js';
import { RULES_DIR } from '../harness/equivalence.js';

const GOLDEN = new URL('../../golden/spl/', import.meta.url).pathname;
const UPDATE = process.env.RULEC_UPDATE_GOLDEN === '1';

function expectedFiles(): Map<string, string> {
  const { rules } = loadCollection([RULES_DIR]);
  const irs = effectiveIr(rules);
  const index = ruleIndex(rules);
  const files = new Map<string, string>();
  const stemOf = (loaded: LoadedRule): string => relative(RULES_DIR, loaded.path).replace(/\.ya?ml$/, '') + (loaded.index > 0 ? `.${loaded.index}` : '');
  // A correlation's references, resolved as the build resolves them (by id or name, with their filters).
  const correlationInput = (loaded: LoadedRule): CorrelationInput | undefined => {
    const rule = loaded.rule as CorrelationRule;
    const refs: CorrelationInput['refs'] = [];
    for (const ref of rule.correlation.rules) {
      const r = index.resolve(ref);
      if (!r?.rule) return undefined;
      // Paths from the repository root, as messages name them whatever the checkout's folder.
      const input = r.rule.kind === 'correlation' ? correlationInput(r) : { path: relative(join(RULES_DIR, '..'), r.path), rule: r.rule as DetectionRule, ir: irs.get(r)! };
      if (!input) return undefined;
      refs.push({ ref, input });
    }
    return { path: relative(join(RULES_DIR, '..'), loaded.path), rule, refs };
  };
  const correlations = rules.filter((l) => l.rule?.kind === 'correlation').flatMap((l) => {
    const input = correlationInput(l);
    return input ? [{ loaded: l, input }] : [];
  });
  for (const platform of PLATFORMS) {
    const mapping = loadPlatformMapping('spl', platform);
    const ok: { input: CompileInput; result: Extract<CompileResult, { ok: true }> }[] = [];
    for (const [loaded, ir] of irs) {
      const input: CompileInput = { path: loaded.path, rule: loaded.rule as DetectionRule, ir };
      const stem = relative(RULES_DIR, loaded.path).replace(/\.ya?ml$/, '');
      const r = splTarget.compile(input, { platform, format: 'query', mapping });
      if (r.ok) files.set(`${platform}/${stem}.spl`, r.output);
      else files.set(`${platform}/${stem}.error`, `${r.kind}: ${r.error}\n`);
      if (platform === 'sysmon') {
        const s = splTarget.compile(input, { platform, format: 'savedsearches', mapping });
        if (s.ok) ok.push({ input, result: s });
      }
    }
    const okCorrelations: { input: CorrelationInput; result: Extract<CompileResult, { ok: true }> }[] = [];
    for (const { loaded, input } of correlations) {
      const r = splTarget.compileCorrelation!(input, { platform, format: 'query', mapping });
      if (r.ok) files.set(`${platform}/${stemOf(loaded)}.spl`, r.output);
      else files.set(`${platform}/${stemOf(loaded)}.error`, `${r.kind}: ${r.error}\n`);
      if (platform === 'sysmon') {
        const s = splTarget.compileCorrelation!(input, { platform, format: 'savedsearches', mapping });
        if (s.ok) okCorrelations.push({ input, result: s });
      }
    }
    if (platform === 'sysmon') for (const f of splTarget.bundle!('savedsearches', ok, { platform, format: 'savedsearches', mapping }, okCorrelations) ?? []) files.set(`${platform}/savedsearches/${f.path}`, f.content);
  }
  return files;
}

function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

describe('SPL golden files', () => {
  const expected = expectedFiles();

  if (UPDATE) {
    rmSync(GOLDEN, { recursive: true, force: true });
    for (const [f, content] of expected) {
      mkdirSync(dirname(join(GOLDEN, f)), { recursive: true });
      writeFileSync(join(GOLDEN, f), content);
    }
  }

  it('cover every rule on every platform, and nothing else', () => {
    expect(walk(GOLDEN).sort()).toEqual([...expected.keys()].sort());
  });

  it.each([...expected.keys()])('%s', (f) => {
    expect(readFileSync(join(GOLDEN, f), 'utf8')).toBe(expected.get(f));
    const text = expected.get(f)!.trimEnd();
    if (f.endsWith('.spl')) expect(() => (text.includes('| eval rulec_rule=') ? parsePipeline(text) : parseQuery(text))).not.toThrow();
  });
});
