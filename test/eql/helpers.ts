/** Shared setup of the EQL tests: a platform's mapping, its compile function and its verdict. */
import { deepMerge, loadPlatformMapping } from '../../src/config/mapping.js';
import type { LogSource } from '../../src/model/types.js';
import { platformOf, rulePlatform, type Platform, type Router } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { compileEql } from '../../src/targets/eql/target.js';
import type { CompileInput, CompileResult, TargetOptions } from '../../src/targets/types.js';
import { buildDocument, evaluate } from './interpret.js';

export interface EqlPlatformUnderTest {
  /** The platform, or for a routing platform (ecs) its router. */
  platform: Platform | Router;
  opts: TargetOptions;
  compile(input: CompileInput, format?: string): CompileResult;
  /** Parse (checking it validates) and interpret a query over an event stored by this platform. */
  verdict(query: string, event: Record<string, unknown>, logsource: LogSource): boolean;
}

/** A platform as shipped, or with `extra` merged in as a --mapping file would be. */
export function eqlPlatform(name: string, extra?: Record<string, unknown>): EqlPlatformUnderTest {
  const mapping = extra ? deepMerge(loadPlatformMapping('eql', name), extra) : loadPlatformMapping('eql', name);
  const opts: TargetOptions = { platform: name, format: 'query', mapping };
  const platform = platformOf(name, mapping);
  return {
    platform,
    opts,
    compile: (input, format = 'query') => compileEql(input, { ...opts, format }),
    verdict(query, event, logsource) {
      // A routing platform stores each event the way the platform its log source is routed to does.
      const p = rulePlatform(name, mapping, logsource);
      const { query: parsed, diagnostics } = checkEql(query, { knows: (f) => p.knows(f) });
      if (!parsed || diagnostics.length) throw new Error(`the query does not validate: ${diagnostics.map((d) => d.message).join('; ')}`);
      return evaluate(parsed, buildDocument(event, logsource, p).doc, p);
    },
  };
}
