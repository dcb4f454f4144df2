/**
 * An event as rules see it: field lookup (a key first, then a dotted path through nested objects)
 * with per-event caches of the texts and folded texts of each field, so that many rules reading
 * the same field fold it once.
 */
import { fold } from '../runtime/fold.js';
import { allTexts, textsOf } from '../runtime/values.js';

export type JsonObject = Record<string, unknown>;

export class EventView {
  private texts = new Map<string, string[]>();
  private folded = new Map<string, string[]>();
  private values = new Map<string, unknown>();
  private everything: string[] | undefined;
  private everythingFolded: string[] | undefined;

  constructor(readonly raw: JsonObject) {}

  get(field: string): unknown {
    if (this.values.has(field)) return this.values.get(field);
    const v = resolveField(this.raw, field);
    this.values.set(field, v);
    return v;
  }

  textsOf(field: string): string[] {
    let t = this.texts.get(field);
    if (t === undefined) {
      t = textsOf(this.get(field));
      this.texts.set(field, t);
    }
    return t;
  }

  foldedOf(field: string): string[] {
    let t = this.folded.get(field);
    if (t === undefined) {
      t = this.textsOf(field).map(fold);
      this.folded.set(field, t);
    }
    return t;
  }

  /**
   * The folded texts of every scalar under top-level key `key` (nested values included): the
   * witness scan's view of a field. A scalar or a list of scalars shares the `foldedOf` cache.
   */
  foldedValuesOf(key: string): string[] {
    const v = this.raw[key];
    if (v === null || typeof v !== 'object' || (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'))) {
      return this.foldedOf(key);
    }
    return allTexts(v).map(fold);
  }

  /** Every scalar value of the event as text (keyword scope). */
  allTexts(folded: boolean): string[] {
    if (!this.everything) this.everything = allTexts(this.raw);
    if (!folded) return this.everything;
    if (!this.everythingFolded) this.everythingFolded = this.everything.map(fold);
    return this.everythingFolded;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

export function resolveField(ev: JsonObject, field: string): unknown {
  if (hasOwn.call(ev, field)) return ev[field];
  if (!field.includes('.')) return undefined;
  let cur: unknown = ev;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn.call(cur, part)) return undefined;
    cur = (cur as JsonObject)[part];
  }
  return cur;
}
