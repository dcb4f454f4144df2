/**
 * A fixture event (Sigma field names) as the platform stores it in a view's table: each field goes
 * where the mapping says (a column converted to its type, a file-name column, a property of a
 * dynamic or JSON column, a coded value), then the view's row conditions fill the columns the event
 * did not set, and the time column is set to the event time or "now". Fields the view cannot store
 * are dropped, as the platform would.
 */
import { TargetFailure } from '../../src/targets/types.js';
import { domainKeyOf, fieldAccess, type ColumnType, type FieldAccess, type View } from '../../src/targets/kusto/mapping.js';
import type { LogSource } from '../../src/model/types.js';
import { parseTimestamp } from '../../src/runtime/time.js';
import type { KValue, Row } from './interpreter.js';

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

function convert(v: unknown, type: ColumnType): KValue {
  const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
  switch (type) {
    case 'string':
    case 'guid':
      if (empty) return '';
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return JSON.stringify(v);
    case 'int':
    case 'long':
    case 'real':
    case 'decimal':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && DECIMAL.test(v)) return Number(v);
      return null;
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
      return null;
    case 'datetime': {
      const ms = typeof v === 'string' ? parseTimestamp(v) : undefined;
      return ms === undefined ? null : { dt: ms };
    }
    case 'timespan':
      return null;
    case 'dynamic':
      return empty ? { dyn: null } : { dyn: v };
  }
}

/** The text after the last backslash; empty when there is none (the mapping's basename contract). */
function fileName(v: unknown): string {
  if (typeof v !== 'string') return '';
  const i = v.lastIndexOf('\\');
  return i < 0 ? '' : v.slice(i + 1);
}

/**
 * The two columns a joined field is stored in (the mapping's join contract, read backwards): split at
 * the last separator, and the first part's abbreviated start spelled out as the platform writes it
 * (the first rewrite whose `to` starts it, as the query's `case()` tries them).
 */
function splitJoin(field: string, v: unknown, a: Extract<FieldAccess, { kind: 'join' }>): [string, string] {
  const t = typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  const i = t.lastIndexOf(a.separator);
  let [first, second] = i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + a.separator.length)];
  const r = a.rewrite.find((x) => first.startsWith(x.to));
  if (r) first = r.from + first.slice(r.to.length);
  if (joinOf(first, second, a) !== t) throw new UnstorableEvent(`${field} ${JSON.stringify(t)} has no ${a.columns.join(' + ')} that joins to it`);
  return [first, second];
}

/** The joined value, as the mapping defines it (and the query's `strcat(case(...), iff(...), ...)` computes). */
function joinOf(first: string, second: string, a: Extract<FieldAccess, { kind: 'join' }>): string {
  const r = a.rewrite.find((x) => first.slice(0, x.from.length).toUpperCase() === x.from.toUpperCase());
  const head = r ? r.to + first.slice(r.from.length) : first;
  return head + (first && second ? a.separator : '') + second;
}

/**
 * An event whose value the platform could never store: a joined field with an empty part on either
 * side of its last separator (`DOMAIN\`, `\name`), or a start the platform spells like another one
 * (Defender writes both Sysmon's HKLM\System\CurrentControlSet\ and HKLM\SYSTEM\ControlSet001\ as
 * ControlSet001). Generated events of this kind are skipped; no real event is one.
 */
export class UnstorableEvent extends Error {}

/** Every (dotted name, value) of an event: top-level keys, and the paths into nested objects. */
function fieldsOfEvent(ev: Record<string, unknown>, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(ev)) {
    const name = prefix + k;
    out.push([name, v]);
    if (v && typeof v === 'object' && !Array.isArray(v)) fieldsOfEvent(v as Record<string, unknown>, `${name}.`, out);
  }
  return out;
}

/** The row, and the time the query runs at: a minute after the event. */
export function rowFor(event: Record<string, unknown>, view: View, ls: LogSource, platform: string): { row: Row; now: number } {
  const now = Date.now();
  const row: Row = {};
  for (const [c, t] of view.columns) row[c] = t === 'string' || t === 'guid' ? '' : t === 'dynamic' ? { dyn: null } : null;
  const bags = new Map<string, Record<string, unknown>>();
  const setPath = (column: string, path: (string | number)[], v: unknown): void => {
    // fieldsOfEvent names paths through objects only, so no index step reaches here.
    if (path.some((p) => typeof p === 'number')) throw new Error(`${column}: an index path is stored with its column, not set below it`);
    let o = bags.get(column);
    if (!o) bags.set(column, (o = {}));
    for (const p of path.slice(0, -1)) {
      const next = o[p];
      o = (o[p] = next && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    o[path[path.length - 1]!] = v;
  };
  const stored: string[] = [];
  for (const [field, v] of fieldsOfEvent(event)) {
    // A nested object stored whole already holds this path.
    if (stored.some((p) => field.startsWith(`${p}.`))) continue;
    let a;
    try {
      a = fieldAccess(view, field, ls, platform);
    } catch (e) {
      if (e instanceof TargetFailure) continue;
      throw e;
    }
    stored.push(field);
    switch (a.kind) {
      case 'column':
        row[a.column] = convert(v, a.type);
        if (a.basename) row[a.basename] = fileName(v);
        break;
      case 'basename':
        row[a.basename] = fileName(v);
        break;
      case 'json':
        setPath(a.column, a.path, v);
        break;
      case 'join':
        [row[a.columns[0]], row[a.columns[1]]] = splitJoin(field, v, a);
        break;
      case 'domain': {
        if (!a.column) break;
        const key = domainKeyOf(a.values, typeof v === 'string' ? v : String(v));
        if (key !== undefined) row[a.column] = a.values.get(key)![0]!;
        break;
      }
    }
  }
  for (const [column, o] of bags) row[column] = view.columns.get(column) === 'dynamic' ? { dyn: o } : JSON.stringify(o);
  for (const w of view.where) {
    const cur = row[w.column];
    if (cur === null || cur === '') row[w.column] = w.type === 'string' ? String(w.values[0]) : Number(w.values[0]);
  }
  // A field mapped to the time column sets it (null when its text is not a time); else the event is recent.
  const t = row[view.timeColumn];
  if (t === null && !stored.some((f) => { const a = view.fields.get(f); return a?.kind === 'column' && a.column === view.timeColumn; })) row[view.timeColumn] = { dt: now - 60_000 };
  return { row, now: t !== null && typeof t === 'object' && 'dt' in t ? t.dt + 60_000 : now };
}
