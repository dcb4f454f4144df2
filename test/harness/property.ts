/**
 * Shared fast-check generators for the escaping property tests of every backend: one-leaf rules
 * whose literals are full of quotes, backslashes, wildcards, control characters, NUL and non-ASCII,
 * and events built from the same literals (so that matches happen often), for a few common fields.
 * The rule is built as IR directly: what is under test is the backend's rendering of literals.
 */
import fc from 'fast-check';
import type { GlobToken, Node } from '../../src/ir/types.js';
import type { DetectionRule } from '../../src/model/types.js';
import type { CompileInput } from '../../src/targets/types.js';

const NASTY = ['"', "'", '\\', '*', '?', '\n', '\r', '\t', '\0', '\u0001', '\u007f', 'é', 'É', 'İ', 'ß', 'ẞ', 'Σ', '😀', '\u202e', '\ufeff', '\u200b', '\u00a0', '%', '_', '|', ' ', '`', '$', '^', '.', '(', ')', '[', ']', '{', '}', '-', '/', ':', '=', '<', '>', '#', '@', '&', '~', ',', ';', 'a', 'A', 'b', 'B', 'x', '0', '1'];

export const nastyChar = fc.constantFrom(...NASTY);
export const nastyString = fc.array(nastyChar, { minLength: 0, maxLength: 8 }).map((a) => a.join(''));
const nonEmpty = fc.array(nastyChar, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));

/** Fields that every platform maps for windows/process_creation. */
export const PROPERTY_FIELDS = ['CommandLine', 'Image', 'ParentImage', 'User'] as const;
const field = fc.constantFrom(...PROPERTY_FIELDS);
const caseMode = fc.constantFrom<'ci' | 'cs'>('ci', 'cs');

const globTokens: fc.Arbitrary<GlobToken[]> = fc
  .array(fc.oneof(nonEmpty, fc.constantFrom<GlobToken>({ wildcard: '*' }, { wildcard: '?' })), { minLength: 1, maxLength: 5 })
  .map((ts) => {
    // keep literal runs merged, as the lowering produces them
    const out: GlobToken[] = [];
    for (const t of ts) {
      const last = out[out.length - 1];
      if (typeof t === 'string' && typeof last === 'string') out[out.length - 1] = last + t;
      else out.push(t);
    }
    return out;
  });

/** A term-match value: nasty characters around at least one term character (ASCII letter or digit). */
const hasValue = fc
  .tuple(fc.array(nastyChar, { maxLength: 3 }), fc.constantFrom('a', 'A', 'b', 'x', '0', '1', 'ab', 'Ab1', 'xB'), fc.array(nastyChar, { maxLength: 3 }))
  .map(([a, t, b]) => a.join('') + t + b.join(''));

export const leaf: fc.Arbitrary<Node> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('str' as const), field, op: fc.constantFrom('eq' as const, 'prefix' as const, 'suffix' as const, 'contains' as const), value: nastyString, case: caseMode }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('glob' as const), field, pattern: globTokens, case: caseMode }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('has' as const), field, value: hasValue, case: caseMode }) },
);

/** A leaf, possibly negated or paired with a second leaf. */
export const ruleIr: fc.Arbitrary<Node> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: leaf.map((child): Node => ({ kind: 'not', child })) },
  { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([a, b]): Node => ({ kind: 'and', children: [a, b] })) },
  { weight: 1, arbitrary: fc.tuple(leaf, leaf).map(([a, b]): Node => ({ kind: 'or', children: [a, b] })) },
);

function literalsOf(n: Node): string[] {
  switch (n.kind) {
    case 'and':
    case 'or':
      return n.children.flatMap(literalsOf);
    case 'not':
      return literalsOf(n.child);
    case 'str':
      return [n.value];
    case 'has':
      // the term, and near misses: inside a longer term, beside `_` and non-ASCII letters, beside punctuation
      return [n.value, `x${n.value}`, `${n.value}0`, `_${n.value}_`, `é${n.value}é`, `-${n.value}.`];
    case 'glob':
      return [n.pattern.map((t) => (typeof t === 'string' ? t : t.wildcard === '*' ? 'zz' : 'q')).join('')];
    default:
      return [];
  }
}

const flipCase = (s: string): string => [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');

/** An event for a rule: field values derived from the rule's literals (exact, case-flipped, padded) or random. */
export function eventFor(ir: Node): fc.Arbitrary<Record<string, unknown>> {
  const lits = literalsOf(ir);
  const value = fc.oneof(
    fc.constantFrom(...(lits.length ? lits : [''])),
    fc.constantFrom(...(lits.length ? lits : [''])).map(flipCase),
    fc.tuple(nastyString, fc.constantFrom(...(lits.length ? lits : [''])), nastyString).map(([a, b, c]) => a + b + c),
    nastyString,
  );
  return fc.record(
    Object.fromEntries(PROPERTY_FIELDS.map((f) => [f, value])) as Record<string, fc.Arbitrary<string>>,
    { requiredKeys: [] },
  );
}

export const ruleAndEvent = ruleIr.chain((ir) => fc.tuple(fc.constant(ir), eventFor(ir)));

/** A CompileInput for a property-test rule (windows/process_creation unless told). */
export function propertyInput(ir: Node, logsource: DetectionRule['logsource'] = { product: 'windows', category: 'process_creation' }): CompileInput {
  const rule: DetectionRule = {
    kind: 'detection',
    title: 'property',
    id: '00000000-0000-4000-8000-00000000abcd',
    tags: [],
    at: { line: 1, column: 1 },
    logsource,
    detection: { searches: new Map(), conditions: [], conditionSource: [] },
    parameters: new Map(),
    output: [],
    tests: [],
  };
  return { path: 'property.yml', rule, ir };
}

/** Runs required by the issues: at least 10,000 cases in CI. */
export const PROPERTY_RUNS = Number(process.env.RULEC_PROPERTY_RUNS ?? 10_000);

/**
 * Term matches (`has`) over an alphabet of term characters and the characters around their edges:
 * `_`, punctuation, space, non-ASCII letters, and the characters whose case folding crosses ASCII
 * (Kelvin sign, long s, dotted I, sharp s, final sigma). Events put the value inside longer terms,
 * beside each of these, case-flipped, or leave it out.
 */
export const TERM_EDGE = ['a', 'A', 'k', 'K', 's', 'S', 'b', '0', '1', '_', '-', '.', ' ', '\\', '"', 'é', 'É', '\u212a', 'ſ', 'İ', 'i', 'ß', 'ẞ', 'Σ', 'σ', 'ς', '😀', '\n'];
export function hasAndEvent(alphabet: readonly string[] = TERM_EDGE, arrays = true): fc.Arbitrary<[Node, Record<string, unknown>]> {
  const ch = fc.constantFrom(...alphabet);
  const value = fc.array(ch, { minLength: 1, maxLength: 4 }).map((a) => a.join('')).filter((v) => /[A-Za-z0-9]/.test(v));
  return fc.tuple(value, fc.constantFrom<'ci' | 'cs'>('ci', 'cs'), fc.constantFrom(...PROPERTY_FIELDS)).chain(([v, c, f]) => {
    const around = fc.array(ch, { maxLength: 2 }).map((a) => a.join(''));
    const text = fc.oneof(
      fc.tuple(around, fc.constantFrom(v, flipCase(v)), around).map(([a, m, b]) => a + m + b),
      fc.array(ch, { maxLength: 6 }).map((a) => a.join('')),
    );
    const ev = fc.record({ [f]: fc.oneof({ weight: 4, arbitrary: text }, { weight: arrays ? 1 : 0, arbitrary: fc.array(text, { maxLength: 3 }) }) }, { requiredKeys: [] });
    return fc.tuple(fc.constant<Node>({ kind: 'has', field: f, value: v, case: c }), ev);
  });
}
