/**
 * The equivalence harness every backend plugs into: for every rule in rules/ and every fixture
 * event of its log source, the backend's verdict (its emitted query, parsed and interpreted over the
 * event as the platform would store it) must equal the evaluator's verdict.
 */
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection } from '../../src/collection/load.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import type { DetectionRule } from '../../src/model/types.js';
import type { CompileInput, CompileResult } from '../../src/targets/types.js';
import { inLogSource, loadFixtureEvents, type Fixture } from './fixtures.js';

export const RULES_DIR = new URL('../../rules', import.meta.url).pathname;

export interface BackendUnderTest {
  /** e.g. `kusto/sentinel`. */
  name: string;
  compile(input: CompileInput): CompileResult;
  /**
   * The backend's verdict for one event: interpret `query` over the event as the platform holds it
   * (the backend maps Sigma field names to its columns, as its mapping says).
   */
  verdict(query: string, fixture: Fixture, input: CompileInput): boolean;
}

export interface Case {
  rule: string;
  fixture: Fixture;
  input: CompileInput;
  expected: boolean;
}

/** Every (rule, fixture) pair with the evaluator's verdict, for the rules of `dir` (default rules/). */
export function equivalenceCases(dir = RULES_DIR): Case[] {
  const { rules } = loadCollection([dir]);
  const irs = effectiveIr(rules);
  const fixtures = loadFixtureEvents();
  const cases: Case[] = [];
  for (const [loaded, ir] of irs) {
    const rule = loaded.rule as DetectionRule;
    const input: CompileInput = { path: loaded.path, rule, ir };
    const match = compileNode(ir);
    const own: Fixture[] = rule.tests.map((t, i) => ({
      source: `${loaded.path}#test-${i + 1}`,
      logsource: rule.logsource,
      note: t.name ?? '',
      event: t.event,
    }));
    for (const fixture of [...own, ...fixtures.filter((f) => inLogSource(rule.logsource, f.logsource))]) {
      cases.push({ rule: loaded.path, fixture, input, expected: match(new EventView(fixture.event)) });
    }
  }
  return cases;
}

export interface Mismatch {
  rule: string;
  fixture: string;
  note: string;
  evaluator: boolean;
  backend: boolean | string;
  query: string;
}

/** Run a backend over every case; returns the disagreements (an empty list is a pass). */
export function runEquivalence(backend: BackendUnderTest, cases: Case[] = equivalenceCases()): Mismatch[] {
  const compiled = new Map<CompileInput, CompileResult>();
  const out: Mismatch[] = [];
  for (const c of cases) {
    let r = compiled.get(c.input);
    if (!r) {
      r = backend.compile(c.input);
      compiled.set(c.input, r);
    }
    if (!r.ok) {
      out.push({ rule: c.rule, fixture: c.fixture.source, note: c.fixture.note, evaluator: c.expected, backend: `did not compile: ${r.error}`, query: '' });
      continue;
    }
    let got: boolean | string;
    try {
      got = backend.verdict(r.query, c.fixture, c.input);
    } catch (e) {
      got = `interpreter error: ${(e as Error).message}`;
    }
    if (got !== c.expected) {
      out.push({ rule: c.rule, fixture: c.fixture.source, note: c.fixture.note, evaluator: c.expected, backend: got, query: r.query });
    }
  }
  return out;
}
