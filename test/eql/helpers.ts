/** Shared setup of the EQL tests: a platform's mapping, its compile function and its verdict. */
import { loadPlatformMapping } from '../../src/config/mapping.js';
import type { LogSource } from '../../src/model/types.js';
import { platformOf, type Platform } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { compileEql } from '../../src/targets/eql/target.js';
import type { CompileInput, CompileResult, TargetOptions } from '../../src/targets/types.js';
import { buildDocument, evaluate } from './interpret.js';

export interface EqlPlatformUnderTest {
  platform: Platform;
  opts: TargetOptions;
  compile(input: CompileInput, format?: string): CompileResult;
  /** Parse (checking it validates) and interpret a query over an event stored by this platform. */
  verdict(query: string, event: Record<string, unknown>, logsource: LogSource): boolean;
}

export function eqlPlatform(name: string): EqlPlatformUnderTest {
  const mapping = loadPlatformMapping('eql', name);
  const opts: TargetOptions = { platform: name, format: 'query', mapping };
  const platform = platformOf(name, mapping);
  return {
    platform,
    opts,
    compile: (input, format = 'query') => compileEql(input, { ...opts, format }),
    verdict(query, event, logsource) {
      const { query: parsed, diagnostics } = checkEql(query, { knows: (f) => platform.knows(f) });
      if (!parsed || diagnostics.length) throw new Error(`the query does not validate: ${diagnostics.map((d) => d.message).join('; ')}`);
      return evaluate(parsed, buildDocument(event, logsource, platform).doc, platform);
    },
  };
}
