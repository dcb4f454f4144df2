/**
 * Generated modules take Windows events as evtx_dump writes them and read them as the evaluator
 * does, names with spaces included (docs/semantics.md section 1).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection, loadText, type LoadedRule } from '../../src/collection/load.js';
import { compileNode } from '../../src/eval/compile.js';
import { viewOf } from '../../src/eval/shape.js';
import type { DetectionRule } from '../../src/model/types.js';
import { generateBundle, generateModule } from '../../src/targets/ts/generator.js';
import { SIGMAHQ } from '../helpers/corpus.js';
import { DEFENDER_EVENTS, SPACED_EXPECTED, SPACED_RULES } from '../helpers/defender.js';
import { loadModule, type BundleModule, type RuleModule } from './load.js';
import { SLOW } from './typescript.js';

const WINDEFEND = `${SIGMAHQ}/windows/builtin/windefend`;
const REGRESSION = new URL('../../../shared/sigmahq/regression/', import.meta.url);

function sourcesOf(rules: readonly LoadedRule[]) {
  return [...effectiveIr(rules)].map(([r, ir]) => ({ path: r.path, rule: r.rule as DetectionRule, ir }));
}

describe('ts target: Windows events as evtx_dump writes them', { timeout: SLOW }, () => {
  it('a module and the bundle match the Defender events by their space-less names', () => {
    const sources = sourcesOf(SPACED_RULES.flatMap((t, i) => loadText(`r${i}.yml`, t)));
    const bundle = loadModule<BundleModule>(generateBundle(sources));
    const modules = sources.map((s) => loadModule<RuleModule>(generateModule(s)));
    expect(DEFENDER_EVENTS.map((e) => bundle.detect(e).map((r) => r.title))).toEqual(SPACED_EXPECTED);
    expect(DEFENDER_EVENTS.map((e) => modules.filter((m) => m.match(e)).map((m) => m.rule.title))).toEqual(SPACED_EXPECTED);
  });

  it.skipIf(!existsSync(WINDEFEND) || !existsSync(REGRESSION))("gives the evaluator's verdicts for SigmaHQ's windows rules on raw regression and Defender events", () => {
    const { rules } = loadCollection([`${SIGMAHQ}/windows/builtin`, `${SIGMAHQ}/windows/process_creation`]);
    const sources = sourcesOf(rules);
    const bundle = loadModule<BundleModule>(generateBundle(sources));
    const matchers = sources.map((s) => compileNode(s.ir));
    const raw = readdirSync(REGRESSION)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(new URL(f, REGRESSION), 'utf8').split('\n').filter((l) => l.trim()))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    let matched = 0;
    for (const event of [...raw, ...DEFENDER_EVENTS]) {
      const view = viewOf(event);
      const expected = sources.filter((_, i) => matchers[i]!(view)).map((s) => s.rule.title);
      matched += expected.length;
      expect(bundle.detect(event).map((r) => r.title)).toEqual(expected);
    }
    // enough matches (165 when written) for the agreement to mean something
    expect(matched).toBeGreaterThan(100);
  });
});
