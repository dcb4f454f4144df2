/**
 * An event as rules see it: field lookup (a key first, then a dotted path through nested objects)
 * with per-event caches of the texts and folded texts of each field, so that many rules reading
 * the same field fold it once.
 */
import { fold } from '../runtime/fold.js';
import { allTexts, textsOf } from '../runtime/values.js';

export type JsonObject = Record<string, unknown>;

/** A flattened event's fields by name (eval/shape.ts eventFields). */
export type FieldMap = Map<string, unknown>;

/** What the view knows of one field: its value, then its texts and folded texts once asked. */
interface FieldCache {
  value: unknown;
  texts: string[] | undefined;
  folded: string[] | undefined;
}

export class EventView {
  private fields = new Map<string, FieldCache>();
  private everything: string[] | undefined;
  private everythingFolded: string[] | undefined;

  private rawObject: JsonObject | undefined;

  /** `source`: a JSON object whose keys are field names, or the fields of a flattened event. */
  constructor(private readonly source: JsonObject | FieldMap) {}

  /** The event as rules see it, as a JSON object (made on first use for a field map). */
  get raw(): JsonObject {
    const s = this.source;
    return s instanceof Map ? (this.rawObject ??= Object.fromEntries(s)) : s;
  }

  private field(name: string): FieldCache {
    let f = this.fields.get(name);
    if (f === undefined) {
      f = { value: resolveField(this.source, name), texts: undefined, folded: undefined };
      this.fields.set(name, f);
    }
    return f;
  }

  get(field: string): unknown {
    return this.field(field).value;
  }

  textsOf(field: string): string[] {
    const f = this.field(field);
    return (f.texts ??= textsOf(f.value));
  }

  foldedOf(field: string): string[] {
    const f = this.field(field);
    if (f.folded === undefined) {
      const texts = (f.texts ??= textsOf(f.value));
      f.folded = texts.length === 1 ? [fold(texts[0]!)] : texts.map(fold);
    }
    return f.folded;
  }

  /** Every scalar value of the event as text (keyword scope). */
  allTexts(folded: boolean): string[] {
    if (!this.everything) this.everything = allTexts(this.source instanceof Map ? [...this.source.values()] : this.source);
    if (!folded) return this.everything;
    if (!this.everythingFolded) this.everythingFolded = this.everything.map(fold);
    return this.everythingFolded;
  }
}

export const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The steps of a field path: `a.b[0].c` is `a`, `b`, element 0, `c`. An index (`[N]`, N from 0)
 * steps into an array only, as KQL's `a.b[0]` does (null on an object); a part with brackets of
 * any other form is a key as written.
 */
export function fieldPath(field: string): ReadonlyArray<string | number> {
  // Field names come from rules (a bounded set) and resolveField runs per event: parse each once.
  let steps = paths.get(field);
  if (steps === undefined) {
    steps = parsePath(field);
    paths.set(field, steps);
  }
  return steps;
}

const paths = new Map<string, ReadonlyArray<string | number>>();

function parsePath(field: string): Array<string | number> {
  const steps: Array<string | number> = [];
  for (const part of field.split('.')) {
    const m = /^([^[\]]+)((?:\[\d+\])+)$/.exec(part);
    if (!m) {
      steps.push(part);
      continue;
    }
    steps.push(m[1]!);
    for (const ix of m[2]!.slice(1, -1).split('][')) steps.push(Number(ix));
  }
  return steps;
}

export function resolveField(ev: JsonObject | FieldMap, field: string): unknown {
  const map = ev instanceof Map;
  if (map ? ev.has(field) : hasOwn.call(ev, field)) return map ? ev.get(field) : (ev as JsonObject)[field];
  if (!field.includes('.') && !field.includes('[')) return undefined;
  const parts = fieldPath(field);
  if (parts.length === 1) return undefined;
  let cur: unknown = ev;
  let i = 0;
  if (map) {
    // The first part names a field of the map; the rest go down through its objects.
    if (!ev.has(parts[0] as string)) return undefined;
    cur = ev.get(parts[0] as string);
    i = 1;
  }
  for (; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part === 'number') {
      if (!Array.isArray(cur) || part >= cur.length) return undefined;
      cur = cur[part];
      continue;
    }
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn.call(cur, part)) return undefined;
    cur = (cur as JsonObject)[part];
  }
  return cur;
}
