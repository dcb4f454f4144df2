/**
 * The text of an explanation: the seed page's sections in its order, each table with aligned
 * columns. Bold headings only when asked (the CLI asks when stdout is a terminal).
 */
import { nativeText, type Explanation } from './index.js';

function table(header: string[], rows: string[][], indent = '  '): string[] {
  if (rows.length === 0) return [];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // The last column is not padded, so lines carry no trailing blanks.
  const line = (cells: string[]): string => indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function block(text: string, indent = '  '): string[] {
  return text.replace(/\n$/, '').split('\n').map((l) => (l ? indent + l : ''));
}

/** What each stage of a query comes from, in words (the catalog pages say it too). */
export const ORIGIN: Record<string, string> = { logsource: 'log source', native: 'native: table', 'logsource+detection': 'log source and detection', schedule: 'schedule.lookback', detection: 'detection', output: 'output fields', query: 'the whole query' };

export function renderExplanation(x: Explanation, opts: { colour: boolean }): string {
  const h = (s: string): string => (opts.colour ? `\x1b[1m${s}\x1b[0m` : s);
  const out: string[] = [];
  const section = (title: string, lines: string[], empty: string): void => {
    out.push('', h(title), ...(lines.length ? lines : [`  ${empty}`]));
  };

  out.push(h(x.title));
  const ls = [x.logsource.product, x.logsource.category, x.logsource.service].filter(Boolean).join('/');
  out.push([x.id && `id ${x.id}`, x.status && `status ${x.status}`, x.level && `level ${x.level}`, ls && `log source ${ls}`].filter(Boolean).join(' · '));
  if (x.native) out.push(`fields: ${nativeText(x.native)}`);
  out.push(x.path);
  if (x.description) out.push('', ...block(x.description, ''));
  for (const w of x.warnings) out.push(`warning: ${w}`);

  const attack = x.attack.flatMap((a) => (a.techniques.length ? a.techniques : [{ id: '', name: '' }]).map((t, i) => [i === 0 ? a.tactic.name : '', t.id, t.name]));
  section('MITRE ATT&CK coverage', table(['Tactic', 'Technique', 'Name'], attack), 'no attack.* tags');

  section('References', x.references.map((r) => `  ${r}`), 'none');

  section(
    'Event coverage',
    table(
      ['Platform', 'Provider', 'Event/ActionType', 'Title', 'Read by'],
      x.eventCoverage.map((r) => [r.platform, r.provider, r.event || '(any)', r.title || '-', r.readBy.length ? r.readBy.join(', ') : `no target (${r.note ?? 'not mapped'})`]),
    ),
    'no target maps this log source',
  );

  const b = x.body;
  if (b.ok) {
    section(`Rule body (${b.target}, platform ${b.platform})`, block(b.query), '');
    const stages: string[] = [];
    if (b.parameters.length) stages.push('  Parameters', ...block(b.parameters.join('\n'), '    '));
    b.stages.forEach((s, i) => {
      stages.push(`  Stage ${i + 1}: ${s.kind} (${ORIGIN[s.origin] ?? s.origin})`, ...block(s.text, '    '));
      for (const p of s.predicates) stages.push(`      predicate: ${p}`);
    });
    section('Stages and predicates', stages, '');
  } else {
    section(`Rule body (${b.target}, platform ${b.platform})`, [`  not compiled (${b.kind}): ${b.error}`], '');
    section('Stages and predicates', [], 'none: the rule does not compile for this target');
  }

  const ind = x.indicators.flatMap((g) => {
    const kind = `${g.negated ? 'not ' : ''}${g.kind}${g.caseSensitive ? ' (cs)' : ''}`;
    const values = g.values.length ? g.values : [{ value: '', corpus: NaN }];
    return values.map((v, i) => [i === 0 ? g.field : '', i === 0 ? kind : '', v.value, Number.isNaN(v.corpus) ? '' : String(v.corpus)]);
  });
  section('Indicators', table([x.native ? 'Column' : 'Field', 'Kind', 'Value', 'Corpus'], ind), 'none');

  const fields = x.output.fields.flatMap((f) =>
    (f.targets.length ? f.targets : [{ target: '-', column: '-', from: '-', uses: [] }]).map((t, i) => [i === 0 ? f.field : '', t.target, t.column, t.from, t.uses.join(', ') || '-']),
  );
  const entities = x.output.alerts.flatMap((a) => a.entities.map((e) => [a.target, e.entity, e.column]));
  // Reasons are sentences: under the table, not in a column they would stretch.
  const alertNotes = x.output.alerts.flatMap((a) => [...(a.error ? [`    ${a.target}: not compiled: ${a.error}`] : []), ...a.notes.map((n) => `    ${a.target}: ${n}`)]);
  section(
    'Output fields',
    [
      ...(fields.length ? table(['Field', 'Target', 'Column', 'From', 'Alert'], fields) : ['  none: the rule has no output: fields']),
      ...(entities.length || alertNotes.length ? ['', '  Alert entities', ...table(['Target', 'Entity', 'Column'], entities, '    '), ...alertNotes] : []),
    ],
    'none',
  );
  return out.join('\n') + '\n';
}
