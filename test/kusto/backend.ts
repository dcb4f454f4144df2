/**
 * The Kusto backend under test for one platform: compile through the target, and the verdict of
 * an emitted query over a fixture event (the query parsed by Kusto.Language and interpreted over the
 * row the platform would store for the event).
 */
import { deepMerge, loadPlatformMapping } from '../../src/config/mapping.js';
import { compileKustoQuery, kustoTarget } from '../../src/targets/kusto/target.js';
import type { CompileInput } from '../../src/targets/types.js';
import type { BackendUnderTest } from '../harness/equivalence.js';
import { compileKql, type CompiledQuery } from './interpreter.js';
import { rowFor, UnstorableEvent } from './rows.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import { UndecidedRegex } from '../helpers/bounded-regex.js';

/** `extra`: mapping data merged over the platform's, as a --mapping file is (e.g. `{source: 'sysmon'}`). */
export function kustoBackend(platform: string, extra?: Record<string, unknown>): BackendUnderTest & { mapping: unknown } {
  const mapping = extra ? deepMerge(loadPlatformMapping('kusto', platform), extra) : loadPlatformMapping('kusto', platform);
  const opts = { platform, format: 'query', mapping };
  const parsed = new Map<string, CompiledQuery>();
  return {
    name: `kusto/${platform}${extra ? ` ${JSON.stringify(extra)}` : ''}`,
    mapping,
    compile: (input) => kustoTarget.compile(input, opts),
    verdict(query, fixture, input: CompileInput) {
      let q = parsed.get(query);
      if (!q) parsed.set(query, (q = compileKql(query)));
      const view = compileKustoQuery(input, opts).view;
      if (q.table !== view.table) throw new Error(`query reads ${q.table}, the view is ${view.table}`);
      const { row, now } = rowFor(fixture.event, view, input.rule.logsource, platform);
      return q.run(row, now);
    },
  };
}

/**
 * For the property tests: compile a generated rule (which must compile), and return the backend's
 * verdict on a generated event with the evaluator's, or undefined when the platform could not store
 * the event (rows.ts UnstorableEvent).
 */
export function verdicts(backend: BackendUnderTest, input: CompileInput, event: Record<string, unknown>): { got: boolean; expected: boolean; query: string } | undefined {
  const r = backend.compile(input);
  if (!r.ok) throw new Error(r.error);
  const expected = compileNode(input.ir)(new EventView(event));
  try {
    return { got: backend.verdict(r.query, { source: 'property', logsource: input.rule.logsource, note: '', event }, input), expected, query: r.query };
  } catch (e) {
    // An event the table cannot hold, or a regex V8 cannot decide in time, is no verdict.
    if (e instanceof UnstorableEvent || e instanceof UndecidedRegex) return undefined;
    throw e;
  }
}
