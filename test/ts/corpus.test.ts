import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection } from '../../src/collection/load.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import type { Node } from '../../src/ir/types.js';
import type { DetectionRule } from '../../src/model/types.js';
import { generateBundle, generateModule } from '../../src/targets/ts/generator.js';
import type { typeCheck } from '../../src/targets/ts/typecheck.js';
import { regressionEvents } from '../../bench/evtx.mjs';
import { loadFixtureEvents } from '../harness/fixtures.js';
import { loadModule, type BundleModule } from './load.js';
import { SIGMAHQ } from '../helpers/corpus.js';

const REGRESSION = new URL('../../../shared/sigmahq/regression', import.meta.url).pathname;

/**
 * Events built from a rule's own literals, so that the rule's leaves are often true and its
 * negations and branches are exercised: for each field, a value satisfying one of its leaves
 * (which one varies from event to event), in the literal's case or flipped.
 */
function witnessEvents(ir: Node, count = 4): Record<string, unknown>[] {
  const values = new Map<string, unknown[]>();
  const add = (f: string, v: unknown): void => void (values.get(f) ?? values.set(f, []).get(f)!).push(v);
  const walk = (n: Node): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        return n.children.forEach(walk);
      case 'not':
        return walk(n.child);
      case 'str':
        return add(n.field, { eq: n.value, prefix: `${n.value}x`, suffix: `x${n.value}`, contains: `x${n.value}y` }[n.op]);
      case 'glob':
        return add(n.field, n.pattern.map((t) => (typeof t === 'string' ? t : t.wildcard === '*' ? 'zz' : 'q')).join(''));
      case 'num':
        if (n.part === undefined) add(n.field, n.op === 'gt' ? n.value + 1 : n.op === 'lt' ? n.value - 1 : n.value);
        return;
      case 'bool':
        return add(n.field, n.value);
      case 'cidr':
        return add(n.field, n.network);
      case 'exists':
        return add(n.field, 'x');
      case 'fieldref':
        return add(n.field, `x${n.other}`);
      case 'keyword':
        return add('Keyword', n.pattern.map((t) => (typeof t === 'string' ? t : 'k')).join(''));
      default:
        return;
    }
  };
  walk(ir);
  const flip = (v: unknown): unknown => (typeof v === 'string' ? [...v].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('') : v);
  return Array.from({ length: count }, (_, k) =>
    Object.fromEntries([...values].map(([f, vs], i) => {
      const v = vs[(k + i) % vs.length];
      return [f, k % 2 ? flip(v) : v];
    })),
  );
}

describe.skipIf(!existsSync(SIGMAHQ))('ts target on the SigmaHQ corpus', () => {
  const { rules } = loadCollection([SIGMAHQ]);
  const sources = [...effectiveIr(rules)].map(([r, ir]) => ({ path: r.path, rule: r.rule as DetectionRule, ir }));

  it('every rule generates a module that type-checks under strict (one program for all)', async () => {
    expect(sources).toHaveLength(3141);
    const modules = new Map(sources.map((s) => [s.path, generateModule(s)]));
    const errors = (await typeCheckOffThread(modules)).map(([path, errs]) => `${path}: ${errs.slice(0, 3).map((e) => `${e.line}:${e.column} ${e.message}`).join('; ')}`);
    expect(errors).toEqual([]);
  }, 600_000);

  it("the bundle of every rule gives the evaluator's verdicts on regression, fixture and witness events", () => {
    const bundle = loadModule<BundleModule>(generateBundle(sources));
    expect(bundle.rules).toHaveLength(sources.length);
    const matchers = sources.map((s) => compileNode(s.ir));
    const shared = [...regressionEvents(REGRESSION), ...loadFixtureEvents().map((f) => f.event)];
    const mismatches: string[] = [];
    let checked = 0;
    let matched = 0;
    const compare = (i: number, event: Record<string, unknown>, expected: boolean): void => {
      checked++;
      if (expected) matched++;
      if (bundle.rules[i]!.match(event) !== expected && mismatches.length < 20) mismatches.push(`${sources[i]!.path}: ${JSON.stringify(event)} evaluator ${expected}`);
    };
    for (const event of shared) {
      const view = new EventView(event);
      const expected = matchers.map((m) => m(view));
      const detected = new Set(bundle.detect(event).map((r) => r.id));
      expected.forEach((e, i) => {
        if (detected.has(sources[i]!.rule.id) !== e && mismatches.length < 20) mismatches.push(`detect: ${sources[i]!.path}: evaluator ${e}`);
      });
      expected.forEach((e, i) => compare(i, event, e));
    }
    let witnessed = 0;
    sources.forEach((s, i) => {
      let any = false;
      for (const event of witnessEvents(s.ir)) {
        const expected = matchers[i]!(new EventView(event));
        any ||= expected;
        compare(i, event, expected);
      }
      if (any) witnessed++;
    });
    expect(mismatches).toEqual([]);
    // enough verdicts of both kinds, over enough rules, for the agreement to mean something
    expect(checked).toBeGreaterThan(500_000);
    expect(matched).toBeGreaterThan(3_000);
    expect(witnessed).toBeGreaterThan(sources.length / 3);
  }, 600_000);
});

type TypeCheckResult = [string, ReturnType<typeof typeCheck> extends Map<string, infer E> ? E : never][];

/**
 * Type-checking 3,141 modules is one synchronous call of half a minute or more. Run on the test's
 * own thread it starves the test runner's RPC, which vitest reports as an error after 60 s; in a
 * worker thread (running the compiled typecheck.js that `npm test` builds first) it does not.
 */
function typeCheckOffThread(modules: Map<string, string>): Promise<TypeCheckResult> {
  const typecheckUrl = new URL('../../dist/targets/ts/typecheck.js', import.meta.url).href;
  const typescriptUrl = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const ts = (await import(workerData.typescriptUrl)).default;
      const { typeCheck } = await import(workerData.typecheckUrl);
      parentPort.postMessage([...typeCheck(new Map(workerData.modules), ts)]);
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { typecheckUrl, typescriptUrl, modules: [...modules] } });
    w.once('message', (m: TypeCheckResult | { error: string }) => {
      void w.terminate();
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}
