/**
 * The `eql` target: Elastic EQL event queries over ECS (or raw Sigma-named documents), and Elastic
 * detection rules around them. Platforms are the backends/eql/<platform>.yml files; the query is
 * printed from the IR (printer.ts), validated by our own EQL parser (parser.ts), and wrapped into the
 * artifact formats by handlebars templates (artifacts.ts).
 */
import { listPlatforms } from '../../config/mapping.js';
import type { Diagnostic } from '../../diag/diagnostic.js';
import { compileEqlCorrelation } from './correlation.js';
import { baseInputs, guard, refuseNative, type CompileInput, type CompileResult, type EventSource, type Target, type TargetOptions } from '../types.js';
import { ARTIFACT_FORMATS, elasticRule, renderArtifact, type ArtifactFormat } from './artifacts.js';
import { platformOf, Router, ROUTING_PLATFORM, rulePlatform } from './mapping.js';
import { checkEql } from './parser.js';
import { printQuery } from './printer.js';

/** The default routes every rule to the data its log source calls for (backends/eql/ecs.yml). */
const DEFAULT_PLATFORM = ROUTING_PLATFORM;

function platforms(): string[] {
  const found = listPlatforms('eql');
  return [DEFAULT_PLATFORM, ...found.filter((p) => p !== DEFAULT_PLATFORM)];
}

/** Said once per build: a routing platform sent rules to documents that carry Sigma field names. */
export const rawRouteNote = (name: string): string =>
  `compiled for documents that carry Sigma field names (platform ${name}): their log sources have no ECS mapping in rulec, so an index of Elastic's own integration for them lacks these fields (change the routes with --mapping to refuse them instead)`;

export function compileEql(input: CompileInput, opts: TargetOptions): CompileResult {
  return guard(() => {
    refuseNative(input, 'eql');
    const platform = rulePlatform(opts.platform, opts.mapping, input.rule.logsource);
    const notes: string[] = [];
    const buildNotes: string[] = [];
    const printed = printQuery(input.ir, { platform, logsource: input.rule.logsource, notes, buildNotes });
    if (!platform.ecs && platformOf(opts.platform, opts.mapping) instanceof Router) buildNotes.push(rawRouteNote(platform.name));
    const reported = () => ({ ...(notes.length ? { notes } : {}), ...(buildNotes.length ? { buildNotes } : {}) });
    if (opts.format === 'query') return { ok: true, query: printed.query, output: printed.query + '\n', ext: 'eql', ...reported() };
    const format = opts.format as ArtifactFormat;
    const artifact = elasticRule(input.rule, input.path, printed.query, opts.index ?? printed.index, opts.enable === true);
    notes.push(...artifact.notes);
    const output = renderArtifact(format, artifact.rule);
    return { ok: true, query: printed.query, output: output.endsWith('\n') ? output : output + '\n', ext: ARTIFACT_FORMATS[format], ...reported() };
  });
}

export const eqlTarget: Target = {
  name: 'eql',
  platforms: platforms(),
  formats: ['query', ...Object.keys(ARTIFACT_FORMATS)],
  artifactOptions: ['index', 'enable'],
  compile: compileEql,
  compileCorrelation: compileEqlCorrelation,
  lineComment: (text) => `// ${text}`,
  catalog: (opts) => platformOf(opts.platform, opts.mapping).catalog(),
  eventSources(ls, opts): EventSource[] {
    const spec = rulePlatform(opts.platform, opts.mapping, ls).logSource(ls);
    const values = (field: string): string[] => spec.conditions.filter((c) => c.field === field).flatMap((c) => c.values.map(String));
    const channel = values('winlog.channel')[0];
    return [
      {
        store: `${spec.category} events${spec.index.length ? ` in ${spec.index.join(', ')}` : ''}`,
        ...(channel ? { channel } : {}),
        eventIds: values('event.code').map(Number),
        actions: values('event.action'),
      },
    ];
  },
  async validate(queries, opts, progress) {
    const out = new Map<string, Diagnostic[]>();
    for (const [i, q] of queries.entries()) {
      progress?.(i);
      // A correlation's query reads the fields of every rule it references.
      const platforms = baseInputs(q.input).map((i) => rulePlatform(opts.platform, opts.mapping, i.rule.logsource));
      const { diagnostics } = checkEql(q.query, { knows: (f) => platforms.some((p) => p.knows(f)) });
      if (diagnostics.length) out.set(q.key, diagnostics);
    }
    return out;
  },
};
