/**
 * The SigmaHQ corpus summary of docs/targets/kusto.md: compiled rules per platform and, by log
 * source, how many rules do not compile on either platform and why (the first reason, shortened).
 * Pure: given the per-rule outcomes, returns markdown. Shared by scripts/kusto-corpus-report.mjs,
 * which writes it into the doc, and test/kusto/corpus.test.ts, which checks the doc is current.
 */

export const START = '<!-- kusto-corpus:start -->';
export const END = '<!-- kusto-corpus:end -->';

/** A reason without the rule-specific parts (field names stay: they say what is missing). */
function reasonOf(error) {
  const r = error
    .replace(/; (mapped|log sources)[^]*$/, '')
    .replace(/^no table of .*? expresses the rule exactly: \[[^\]]*\] /, '')
    .replace(/^log source \S+ has no table on platform \S+$/, 'no table for this log source')
    .replace(/ for log source \S+ on platform \S+/, '')
    .replace(/ \(\S+ on \S+\)/, '')
    .replace(/^\S+ on \S+, table /, '')
    .replace(/ \(table WindowsEvent, platform sentinel\): .*$/, ' on WindowsEvent: no keyword columns (EventData is a dynamic bag)');
  return r.length > 150 ? `${r.slice(0, 149)}…` : r;
}

/**
 * What the compiled Sentinel queries read: rules per data source (table and source name), and how
 * many fall back from their log source's first candidate.
 */
function sourceLines(outcomes) {
  const by = new Map();
  let fallbacks = 0;
  for (const o of outcomes) {
    if (!o.sentinel.ok || !o.sentinel.source) continue;
    const { table, name, reason } = o.sentinel.source;
    const k = name ? `${table} (${name})` : table;
    by.set(k, (by.get(k) ?? 0) + 1);
    if (reason) fallbacks++;
  }
  const top = [...by].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = top.slice(0, 8).map(([k, n]) => `${k} ${n}`);
  const rest = top.slice(8).reduce((n, [, c]) => n + c, 0);
  return [
    `Sentinel queries by data source: ${shown.join(', ')}${rest ? `, other tables ${rest}` : ''}; ${fallbacks} read a later candidate than their log source's first (the build notes why).`,
    '',
  ];
}

/**
 * outcomes: [{path, logsource, sentinel: {ok, error?, source?}, defender: {ok, error?}}] in corpus order.
 */
export function corpusTable(outcomes) {
  const total = outcomes.length;
  const s = outcomes.filter((o) => o.sentinel.ok).length;
  const d = outcomes.filter((o) => o.defender.ok).length;
  const u = outcomes.filter((o) => o.sentinel.ok || o.defender.ok).length;
  const pct = (n) => `${((100 * n) / total).toFixed(1)}%`;
  const lines = [
    START,
    '',
    `| SigmaHQ rules | sentinel | defender-xdr | either |`,
    `| ---: | ---: | ---: | ---: |`,
    `| ${total} | ${s} (${pct(s)}) | ${d} (${pct(d)}) | ${u} (${pct(u)}) |`,
    '',
    ...sourceLines(outcomes),
    'Rules that compile on neither platform, by log source (the reason shown is the Sentinel one; counts per reason):',
    '',
    '| log source | rules | not compiled | reasons |',
    '| --- | ---: | ---: | --- |',
  ];
  const by = new Map();
  for (const o of outcomes) {
    const e = by.get(o.logsource) ?? { rules: 0, failed: 0, reasons: new Map() };
    e.rules++;
    if (!o.sentinel.ok && !o.defender.ok) {
      e.failed++;
      const r = reasonOf(o.sentinel.error);
      e.reasons.set(r, (e.reasons.get(r) ?? 0) + 1);
    }
    by.set(o.logsource, e);
  }
  const rows = [...by].filter(([, e]) => e.failed > 0).sort((a, b) => b[1].failed - a[1].failed || a[0].localeCompare(b[0]));
  for (const [ls, e] of rows) {
    const reasons = [...e.reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `${n} × ${r.replace(/\|/g, '\\|')}`);
    lines.push(`| ${ls} | ${e.rules} | ${e.failed} | ${reasons.join('<br>')} |`);
  }
  lines.push('', END);
  return lines.join('\n');
}

/** The doc with its corpus section replaced. */
export function withTable(doc, table) {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`the doc has no ${START} ... ${END} section`);
  return doc.slice(0, a) + table + doc.slice(b + END.length);
}
