/**
 * The Kusto (KQL) target for Microsoft Sentinel and Defender XDR. A rule's log source gives
 * candidate views (mapping.ts); the first view on which every part of the rule prints exactly is
 * used (query.ts, printer.ts), and the query is wrapped in the requested deployable format
 * (artifacts.ts). Validation with Kusto.Language is opt-in and loaded lazily (validate.ts).
 */
import { UsageError } from '../../diag/diagnostic.js';
import { selectedValues } from '../../ir/types.js';
import type { Diagnostic } from '../../diag/diagnostic.js';
import { guard, TargetFailure, type CorrelationInput, type CompileInput, type CompileResult, type AlertFields, type DataSource, type EventSource, type Target, type TargetOptions } from '../types.js';
import { chainSeconds } from '../schedule.js';
import { alertMapping, DEFENDER_CORRELATION, defenderAssetColumn, defenderAssetType, renderArtifact, renderCorrelationArtifact, FORMAT_PLATFORM, type ArtifactFormat } from './artifacts.js';
import { compileKustoCorrelation } from './correlation.js';
import { kustoMapping, logSourceName, nativeView, viewsFor, type View } from './mapping.js';
import { buildQuery, type BuiltQuery } from './query.js';

export const KUSTO_FORMATS = ['query', 'sentinel-yaml', 'sentinel-arm', 'defender-json'] as const;

export interface CompiledKusto extends BuiltQuery {
  view: View;
  /** The candidates tried before `view`, and why each could not express the rule. */
  passed: { view: View; error: TargetFailure }[];
}

/** The query for one rule: the first candidate view that expresses it exactly. */
export function compileKustoQuery(input: CompileInput, opts: TargetOptions, comments = true): CompiledKusto {
  const m = kustoMapping(opts.mapping, opts.platform);
  const native = input.rule.native;
  const views = native ? [nativeView(m, native.table, native.platform)] : viewsFor(m, input.rule.logsource);
  const failures: { view: View; error: TargetFailure }[] = [];
  for (const view of views) {
    try {
      return { ...buildQuery(input.rule, input.ir, view, { platform: opts.platform, comments }), view, passed: failures };
    } catch (e) {
      if (!(e instanceof TargetFailure)) throw e;
      failures.push({ view, error: e });
    }
  }
  const pinned = m.pin ? `source pinned to ${m.pin.join(', ')} (the mapping's source:): ` : '';
  if (failures.length === 1) {
    const { view, error } = failures[0]!;
    if (error.message.includes(view.table) || native) throw pinned ? new TargetFailure(error.kind, pinned + error.message) : error;
    throw new TargetFailure(error.kind, `${pinned}${logSourceName(input.rule.logsource)} on ${opts.platform}, table ${view.table}: ${error.message}`);
  }
  const kind = failures.every((f) => f.error.kind === 'mapping') ? 'mapping' : 'unsupported';
  throw new TargetFailure(
    kind,
    `${pinned}no table of ${logSourceName(input.rule.logsource)} on ${opts.platform} expresses the rule exactly: ${failures.map((f) => `[${f.view.table}] ${f.error.message}`).join('; ')}`,
  );
}

const sourceName = (v: View): string => (v.source ? `${v.table} (${v.source})` : v.table);

/**
 * The data source of a compiled query and, when an earlier candidate could not express the rule,
 * the note saying so: a rule that reads WindowsEvent instead of DeviceProcessEvents needs other
 * data collected, and one field is enough to switch.
 */
function dataSource(q: CompiledKusto): { source: DataSource; notes: string[] } {
  const source: DataSource = { table: q.view.table, ...(q.view.source ? { name: q.view.source } : {}) };
  if (!q.passed.length) return { source, notes: [] };
  // The field lists of "not mapped" messages are long; the reason is the part before them.
  const reason = q.passed.map((p) => `${sourceName(p.view)}: ${p.error.message.replace(/; mapped fields: .*$/, '')}`).join('; ');
  return { source: { ...source, reason }, notes: [`falls back to ${sourceName(q.view)}; ${reason}`] };
}

export const kustoTarget: Target = {
  name: 'kusto',
  platforms: ['sentinel', 'defender-xdr'],
  formats: KUSTO_FORMATS,
  compile(input: CompileInput, opts: TargetOptions): CompileResult {
    const format = opts.format as (typeof KUSTO_FORMATS)[number];
    if (format !== 'query' && FORMAT_PLATFORM[format] !== opts.platform) {
      throw new UsageError(`format ${format} is for platform ${FORMAT_PLATFORM[format]}; use --platform ${FORMAT_PLATFORM[format]}`);
    }
    return guard(() => {
      // Defender custom detections reject comments in continuous rules: keep them out of its queries.
      const q = compileKustoQuery(input, opts, format !== 'defender-json');
      const { source, notes } = dataSource(q);
      const stages = { parameters: q.parameters, stages: q.stages };
      if (format === 'query') return { ok: true, query: q.text, output: q.text, ext: 'kql', source, stages, ...(notes.length ? { notes } : {}) };
      const a = renderArtifact(format as ArtifactFormat, input, q, kustoMapping(opts.mapping, opts.platform));
      notes.push(...a.notes);
      return { ok: true, query: q.text, output: a.text, ext: a.ext, source, stages, ...(notes.length ? { notes } : {}) };
    });
  },
  compileCorrelation(input: CorrelationInput, opts: TargetOptions): CompileResult {
    const format = opts.format as (typeof KUSTO_FORMATS)[number];
    if (format !== 'query' && FORMAT_PLATFORM[format] !== opts.platform) {
      throw new UsageError(`format ${format} is for platform ${FORMAT_PLATFORM[format]}; use --platform ${FORMAT_PLATFORM[format]}`);
    }
    // Refused before the references are compiled, so the reason is this one whatever they are.
    if (format === 'defender-json') return { ok: false, kind: 'unsupported', error: `defender-json: ${DEFENDER_CORRELATION}` };
    return guard(() => {
      const q = compileKustoCorrelation(input, opts, true);
      const notes = [...q.notes];
      // One data source when every referenced rule reads the same one (a correlation may read several).
      const first = q.views[0]!;
      const source: DataSource | undefined = q.views.every((v) => v.table === first.table && v.source === first.source)
        ? { table: first.table, ...(first.source ? { name: first.source } : {}) }
        : undefined;
      const common = { ...(source ? { source } : {}), ...(notes.length ? { notes } : {}) };
      if (format === 'query') return { ok: true, query: q.text, output: q.text, ext: 'kql', ...common };
      const a = renderCorrelationArtifact(format as ArtifactFormat, input.rule, q.text, q.views, q.groupColumns, chainSeconds(input));
      notes.push(...a.notes);
      return { ok: true, query: a.query, output: a.text, ext: a.ext, ...common, ...(notes.length ? { notes } : {}) };
    });
  },
  alertFields(input, opts): AlertFields {
    const q = compileKustoQuery(input, { ...opts, format: 'query' });
    if (opts.platform === 'defender-xdr') {
      // Defender custom detections show every column of the results on the alert.
      const asset = defenderAssetColumn(q);
      return {
        fields: q.outputs.map((o) => ({ ...o, uses: ['alert field (custom detection result column)'] })),
        entities: asset ? [{ entity: `impactedAssets ${defenderAssetType(asset)}`, column: asset }] : [],
        notes: asset ? [] : [`no impacted-asset column in the results of ${q.view.table}; the defender-json format refuses the rule`],
      };
    }
    const m = alertMapping(input.rule, q, kustoMapping(opts.mapping, opts.platform));
    return {
      fields: q.outputs.map((o) => ({ ...o, uses: m.customDetails.filter((c) => c.column === o.column).map((c) => `customDetails.${c.key}`) })),
      entities: m.entities.map((e) => ({ entity: `entityMappings ${e.entityType}.${e.identifier}`, column: e.columnName })),
      notes: m.leftOut,
    };
  },
  eventSources(ls, opts): EventSource[] {
    return viewsFor(kustoMapping(opts.mapping, opts.platform), ls).map((v) => {
      const values = (column: string): string[] => v.where.find((w) => w.column === column)?.values.map(String) ?? [];
      const channel = values('Channel')[0];
      return {
        store: v.table,
        ...(channel ? { channel } : {}),
        eventIds: values('EventID').map(Number),
        actions: [...values('ActionType'), ...values('EventType')],
      };
    });
  },
  nativeEventSource(native, ir, opts): EventSource {
    const view = nativeView(kustoMapping(opts.mapping, opts.platform), native.table, native.platform);
    // The same event columns eventSources reads from a log source's `where`.
    const values = (column: string): string[] => (view.columns.has(column) ? (selectedValues(ir, column) ?? []) : []);
    return { store: view.table, eventIds: values('EventID').filter((x) => /^\d+$/.test(x)).map(Number), actions: [...values('ActionType'), ...values('EventType')] };
  },
  lineComment: (text) => `// ${text}`,
  eventFields(opts, logsource) {
    const out = new Map<string, string>();
    for (const view of viewsFor(kustoMapping(opts.mapping, opts.platform), logsource)) {
      for (const [sigma, access] of view.fields) {
        if (access.kind === 'column' && !out.has(access.column) && ![...out.values()].includes(sigma)) out.set(access.column, sigma);
      }
    }
    return [...out].map(([event, sigma]) => ({ event, sigma }));
  },
  catalog(opts) {
    return kustoMapping(opts.mapping, opts.platform).logsources.flatMap((e) =>
      e.match.map((m) => ({
        logsource: { ...(m.product ? { product: m.product } : {}), ...(m.category ? { category: m.category } : {}), ...(m.service ? { service: m.service } : {}) },
        fields: [...new Set(e.views.flatMap((v) => [...v.fields.keys()]))],
      })),
    );
  },
  async validate(queries, opts, progress): Promise<Map<string, Diagnostic[]>> {
    const { KustoAnalyzer } = await import('./validate.js');
    const m = kustoMapping(opts.mapping, opts.platform);
    const used = new Set(m.logsources.flatMap((l) => l.views.map((v) => v.table)));
    // Native rules read their own table, which no log source may map.
    const nativeTables = (input: CompileInput | CorrelationInput): void => {
      if (input.rule.kind === 'detection') {
        if (input.rule.native) used.add(input.rule.native.table);
      } else for (const r of (input as CorrelationInput).refs) nativeTables(r.input);
    };
    for (const q of queries) nativeTables(q.input);
    const analyzer = new KustoAnalyzer(new Map([...m.tables].filter(([t]) => used.has(t))));
    const out = new Map<string, Diagnostic[]>();
    for (const [i, q] of queries.entries()) {
      progress?.(i);
      const diags = analyzer.analyze(q.query);
      if (diags.length === 0) continue;
      // Any diagnostic of Kusto.Language is an error: we emitted the query.
      out.set(
        q.key,
        diags.map((d) => ({
          severity: 'error',
          code: `kusto-${d.code}`,
          message: `${d.code} at offset ${d.start} of the ${opts.platform} query: ${d.message} (near ${JSON.stringify(q.query.slice(d.start, d.start + Math.max(d.length, 1)))})`,
          line: q.input.rule.at.line,
          column: q.input.rule.at.column,
        })),
      );
    }
    return out;
  },
};
