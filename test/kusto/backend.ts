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
import { rowFor } from './rows.js';

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
