/**
 * The Kusto platform mapping read in reverse: which Sigma log source a table and its row filters
 * (ActionType, EventID...) hold. The same views the Kusto target compiles through (one mapping, two
 * directions): a log source is the answer when one of its views reads this table and every row
 * condition of that view is a top-level equality of the query.
 */
import type { LogSource } from '../../model/types.js';
import type { KustoMapping, View } from '../../targets/kusto/mapping.js';
import type { Cond, Leaf } from './lift.js';

/** The top-level equality leaves of the where chain: field -> values it is pinned to. */
function pinned(wheres: readonly { cond: Cond }[]): Leaf[] {
  const out: Leaf[] = [];
  const visit = (c: Cond): void => {
    if (c.kind === 'and') c.children.forEach(visit);
    else if (c.kind === 'leaf' && c.modifiers.every((m) => m === 'cased')) out.push(c);
  };
  for (const w of wheres) visit(w.cond);
  return out;
}

/** True when the query's pinned equalities select a subset of the view's rows. */
function within(view: View, leaves: Leaf[]): boolean {
  if (view.filter) return false;
  return view.where.every((w) =>
    leaves.some(
      (l) =>
        l.field === w.column &&
        l.values.length > 0 &&
        l.values.every((v) => (v.kind === 'string' || v.kind === 'number') && w.values.some((x) => String(x).toLowerCase() === String(v.value).toLowerCase())),
    ),
  );
}

/**
 * The Sigma log source of rows of `table` that the where chain pins: the log source of the view
 * with the most row conditions among those the query satisfies (DeviceFileEvents with ActionType
 * == "FileCreated" is windows/file_event; DeviceFileEvents alone is none). Undefined when no
 * view of the mapping fits.
 */
export function logSourceOf(m: KustoMapping, table: string, wheres: readonly { cond: Cond }[]): { logsource: LogSource; view: View } | undefined {
  const leaves = pinned(wheres);
  let best: { logsource: LogSource; view: View } | undefined;
  for (const entry of m.logsources) {
    for (const view of entry.views) {
      if (view.table !== table || !within(view, leaves)) continue;
      if (!best || view.where.length > best.view.where.length) best = { logsource: entry.match[0]!, view };
    }
  }
  return best;
}
