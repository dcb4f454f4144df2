/**
 * Broken rules come from real ones: corpus rules mutated at random (a Sigma token or YAML character
 * inserted, a few characters or a line deleted) must load into diagnostics and compile into results,
 * never throw, and never make a library print a warning of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findRuleFiles, loadText } from '../../src/collection/load.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { prng } from '../../bench/events.js';
import { Engine } from '../../src/eval/engine.js';
import type { DetectionRule } from '../../src/model/types.js';
import { loadTarget } from '../../src/targets/registry.js';
import { SIGMAHQ } from '../helpers/corpus.js';

const MUTANTS = 2_000;

const FRAGMENTS = ['|', ':', '*', '?', '\\', '"', "'", '{', '}', '[', ']', '-', ' ', '\n', '\t', '%', 'not ', ' and ', '1 of ', 'them', '|re', '|cidr', '|base64offset', '|expand', '|windash', '|all', '|contains', '0', '-1', 'null', '~', '&a', '*a', '!!str', '---\n', '? ', '{F: x}: ', '[x]: '];

function mutate(text: string, rand: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
    const at = Math.floor(rand() * text.length);
    const op = rand();
    if (op < 0.4) text = text.slice(0, at) + pick(FRAGMENTS) + text.slice(at);
    else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 10));
    else {
      const lines = text.split('\n');
      lines.splice(Math.floor(rand() * lines.length), 1);
      text = lines.join('\n');
    }
  }
  return text;
}

describe.skipIf(!existsSync(SIGMAHQ))('mutated corpus rules', () => {
  it(`${MUTANTS} mutants load, compile on every target and build an engine without an exception or a warning`, async () => {
    const targets = await Promise.all(
      (
        [
          ['kusto', 'sentinel'],
          ['eql', 'ecs-windows'],
          ['spl', 'sysmon'],
        ] as const
      ).map(async ([name, platform]) => ({ target: await loadTarget(name), opts: { platform, format: 'query', mapping: loadPlatformMapping(name, platform) } })),
    );
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    const { files } = findRuleFiles([SIGMAHQ]);
    const rand = prng(20261128); // the same mutants every run
    let invalid = 0;
    try {
      for (let i = 0; i < MUTANTS; i++) {
        const file = files[Math.floor(rand() * files.length)]!;
        const text = mutate(readFileSync(file, 'utf8'), rand);
        const where = `${file} mutant ${i}`;
        const loaded = (() => {
          try {
            return loadText(file, text);
          } catch (e) {
            throw new Error(`${where}: ${(e as Error).stack}\n${text}`);
          }
        })();
        for (const r of loaded) {
          if (r.diagnostics.some((d) => d.severity === 'error')) invalid++;
          if (!r.ir || r.rule?.kind !== 'detection') continue;
          const input = { path: file, rule: r.rule as DetectionRule, ir: r.ir };
          expect(() => Engine.fromLoaded([r]), where).not.toThrow();
          for (const { target, opts } of targets) expect(() => target.compile(input, opts), `${where} on ${target.name}`).not.toThrow();
        }
        if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      process.off('warning', onWarning);
    }
    // Node emits warnings on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
    // The mutations must actually break rules, else this proves little.
    expect(invalid).toBeGreaterThan(MUTANTS / 10);
  }, 120_000);
});
