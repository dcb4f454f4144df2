/**
 * The Splunk SPL target: `rulec build --target spl [--platform sysmon|windows|cim]
 * [--format query|savedsearches]`. A rule's log source picks a search prefix (or a CIM data model)
 * from backends/spl/<platform>.yml, printer.ts writes the query, and the `savedsearches` format
 * bundles every rule of the build into one Splunk app folder (artifacts.ts).
 */
import type { Diagnostic } from '../../diag/diagnostic.js';
import { error } from '../../diag/diagnostic.js';
import { baseInputs, guard, refuseNative, TargetFailure, type CompileResult, type CorrelationInput, type EventSource, type QueryStage, type Target, type TargetOptions } from '../types.js';
import { correlationStanza, savedSearchesBundle, stanza } from './artifacts.js';
import { pipelineFields, queryFields, type Query } from './ast.js';
import { compileSplCorrelation } from './correlation.js';
import { renderPipeline, renderQuery, renderStages } from './dialect.js';
import { platformMapping, resolveLogSource, SPLUNK_FIELD_NAME } from './mapping.js';
import { parsePipeline, parseQuery, SplSyntaxError } from './parser.js';
import { printQuery } from './printer.js';

export const PLATFORMS = ['sysmon', 'windows', 'cim'] as const;
export const FORMATS = ['query', 'savedsearches'] as const;

/** Compile one rule to its SPL query and the notes (reported approximations) its log source implies. */
export function compileSpl(input: Parameters<Target['compile']>[0], platform: string, mapping: unknown, index?: readonly string[]): { query: string; stages: QueryStage[]; notes: string[] } {
  const pm = platformMapping(mapping, platform);
  const entry = resolveLogSource(pm, input.rule.logsource);
  const { query, notes } = printQuery(input.ir, pm, entry, index ?? pm.index);
  checkFieldNames(query);
  return { query: renderQuery(query), stages: renderStages(query), notes };
}

/**
 * The mapping already refuses names Splunk cannot hold; a query that still names one would match
 * nothing in Splunk without a word, so it is refused as a defect of rulec rather than emitted.
 */
export function checkFieldNames(query: Query | Set<string>): void {
  for (const f of query instanceof Set ? query : queryFields(query)) {
    if (!SPLUNK_FIELD_NAME.test(f)) throw new TargetFailure('unsupported', `rulec defect: the query names the field '${f}', which no Splunk field can be named (letters, digits, '_', '.' and ':' only); please report it`);
  }
}

export const splTarget: Target = {
  name: 'spl',
  platforms: PLATFORMS,
  formats: FORMATS,
  artifactOptions: ['index', 'enable'],
  compile(input, opts): CompileResult {
    return guard(() => {
      refuseNative(input, 'spl');
      const { query, stages, notes } = compileSpl(input, opts.platform, opts.mapping, opts.index);
      // savedsearches: each rule's stanza, joined into one app folder by bundle().
      if (opts.format === 'savedsearches') {
        const s = stanza(input, query, { settings: platformMapping(opts.mapping, opts.platform).savedsearches, enable: opts.enable === true });
        notes.push(...s.notes);
        return { ok: true, query, output: s.text, ext: 'conf', stages: { parameters: [], stages }, ...(notes.length ? { notes } : {}) };
      }
      const n = notes.length ? { notes } : {};
      return { ok: true, query, output: query + '\n', ext: 'spl', stages: { parameters: [], stages }, ...n };
    });
  },
  compileCorrelation(input: CorrelationInput, opts: TargetOptions): CompileResult {
    return guard(() => {
      const c = compileSplCorrelation(input, opts.platform, opts.mapping, opts.index);
      checkFieldNames(pipelineFields(c.pipeline));
      const query = renderPipeline(c.pipeline);
      const notes = [...c.notes];
      if (opts.format === 'savedsearches') {
        // The security domain of the first rule it reads (every rule of a correlation usually shares one).
        const s = correlationStanza(input, query, baseInputs(input)[0]!.rule.logsource, { settings: platformMapping(opts.mapping, opts.platform).savedsearches, enable: opts.enable === true });
        notes.push(...s.notes);
        return { ok: true, query: s.query, output: s.text, ext: 'conf', ...(notes.length ? { notes } : {}) };
      }
      return { ok: true, query, output: query + '\n', ext: 'spl', ...(notes.length ? { notes } : {}) };
    });
  },
  eventSources(ls, opts): EventSource[] {
    const e = resolveLogSource(platformMapping(opts.mapping, opts.platform), ls);
    const values = (field: string): string[] => e.prefix.filter((p) => p.field === field).flatMap((p) => p.values.map(String));
    const store = e.datamodel ? `datamodel ${e.datamodel.model}.${e.datamodel.dataset}` : values('source').join(', ') || values('sourcetype').join(', ') || `platform ${opts.platform}`;
    const base = { store, eventIds: values('EventCode').map(Number), actions: [] };
    return e.channels.length ? e.channels.map((channel) => ({ ...base, channel })) : [base];
  },
  bundle(format, results, opts, correlations) {
    // Only the savedsearches format is a bundle; the query format is one file per rule.
    return format === 'savedsearches' ? savedSearchesBundle(results, opts.platform, platformMapping(opts.mapping, opts.platform).savedsearches, correlations) : undefined;
  },
  catalog(opts) {
    return platformMapping(opts.mapping, opts.platform).entries.map((e) => ({
      logsource: Object.fromEntries(Object.entries(e.match).filter((m): m is [string, string] => typeof m[1] === 'string')),
      fields: Object.keys(e.fields),
    }));
  },
  // SPL comments are triple backticks; a backtick inside would end one early.
  lineComment: (text) => '```' + text.replace(/`/g, "'") + '```',
  async validate(queries, _opts, progress) {
    const out = new Map<string, Diagnostic[]>();
    for (const [i, q] of queries.entries()) {
      progress?.(i);
      out.set(q.key, validateQuery(q.query, 'refs' in q.input));
    }
    return out;
  },
};

/** Parse an emitted query (a correlation's: a pipeline); a syntax error is a located diagnostic. */
export function validateQuery(query: string, correlation = false): Diagnostic[] {
  try {
    if (correlation) parsePipeline(query);
    else parseQuery(query);
    return [];
  } catch (e) {
    if (e instanceof SplSyntaxError) return [error('spl-syntax', `SPL ${e.message}`, { line: e.line, column: e.column })];
    throw e;
  }
}
