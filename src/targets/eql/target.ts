/**
 * The `eql` target: Elastic EQL event queries over ECS (or raw Sigma-named documents), and Elastic
 * detection rules around them. Platforms are the backends/eql/<platform>.yml files; the query is
 * printed from the IR (printer.ts), validated by our own EQL parser (parser.ts), and wrapped into the
 * artifact formats by handlebars templates (artifacts.ts).
 */
import { listPlatforms } from '../../config/mapping.js';
import type { Diagnostic } from '../../diag/diagnostic.js';
import { guard, type CompileInput, type CompileResult, type Target, type TargetOptions } from '../types.js';
import { ARTIFACT_FORMATS, elasticRule, renderArtifact, type ArtifactFormat } from './artifacts.js';
import { platformOf } from './mapping.js';
import { checkEql } from './parser.js';
import { printQuery } from './printer.js';

const DEFAULT_PLATFORM = 'ecs-windows';

function platforms(): string[] {
  const found = listPlatforms('eql');
  return [DEFAULT_PLATFORM, ...found.filter((p) => p !== DEFAULT_PLATFORM)];
}

export function compileEql(input: CompileInput, opts: TargetOptions): CompileResult {
  return guard(() => {
    const platform = platformOf(opts.platform, opts.mapping);
    const notes: string[] = [];
    const printed = printQuery(input.ir, { platform, logsource: input.rule.logsource, notes });
    if (opts.format === 'query') return { ok: true, query: printed.query, output: printed.query + '\n', ext: 'eql', ...(notes.length ? { notes } : {}) };
    const format = opts.format as ArtifactFormat;
    const artifact = elasticRule(input.rule, input.path, printed.query, printed.index);
    notes.push(...artifact.notes);
    const output = renderArtifact(format, artifact.rule);
    return { ok: true, query: printed.query, output: output.endsWith('\n') ? output : output + '\n', ext: ARTIFACT_FORMATS[format], ...(notes.length ? { notes } : {}) };
  });
}

export const eqlTarget: Target = {
  name: 'eql',
  platforms: platforms(),
  formats: ['query', ...Object.keys(ARTIFACT_FORMATS)],
  compile: compileEql,
  lineComment: (text) => `// ${text}`,
  catalog: (opts) => platformOf(opts.platform, opts.mapping).catalog(),
  async validate(queries, opts, progress) {
    const platform = platformOf(opts.platform, opts.mapping);
    const out = new Map<string, Diagnostic[]>();
    for (const [i, q] of queries.entries()) {
      progress?.(i);
      const { diagnostics } = checkEql(q.query, { knows: (f) => platform.knows(f) });
      if (diagnostics.length) out.set(q.key, diagnostics);
    }
    return out;
  },
};
