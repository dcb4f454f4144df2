// The import comes first: the ts target inlines this file's declarations with their leading comments.
import { fold } from './fold.js';

/**
 * What a field holds, per docs/semantics.md section 1: emptiness, the text of a value, numbers.
 */

/** Absent, null, the empty string or an empty array. */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/**
 * The texts a string primitive compares: one per scalar (array elements flattened); `[""]` for an
 * empty field; none for an object.
 */
export function textsOf(v: unknown): string[] {
  if (isEmpty(v)) return [''];
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return [String(v)];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v) if (!isEmpty(x)) out.push(...textsOf(x));
    return out.length ? out : [''];
  }
  return [];
}

/** Decimal text without leading zeros or exponent: `4688`, `-1`, `0.5`, `1.50`; not `04688`, `1e3`, `0x10`. */
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** The numbers a numeric primitive compares: JSON numbers and decimal strings (elements of arrays too). */
export function numbersOf(v: unknown): number[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : [];
  if (typeof v === 'string') return DECIMAL.test(v) ? [Number(v)] : [];
  if (typeof v === 'bigint') return [Number(v)];
  if (Array.isArray(v)) return v.flatMap(numbersOf);
  return [];
}

/**
 * The numbers of `v` as numbersOf reads them, but decimal strings kept as their text, for an exact
 * comparison with an integer literal beyond 2^53 (which a double would round).
 */
export function numericValuesOf(v: unknown): (number | string | bigint)[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : [];
  if (typeof v === 'string') return DECIMAL.test(v) ? [v] : [];
  if (typeof v === 'bigint') return [v];
  if (Array.isArray(v)) return v.flatMap(numericValuesOf);
  return [];
}

/**
 * `x op lit`, exactly: `x` a number, a decimal text (numericValuesOf) or a bigint, `lit` an integer.
 * Only the floor of `x` and whether `x` is whole are needed: floor(x) < lit means x < floor(x) + 1 <= lit.
 */
export function compareExact(x: number | string | bigint, op: NumOp, lit: bigint): boolean {
  let floor: bigint;
  let whole = true;
  if (typeof x === 'bigint') floor = x;
  else if (typeof x === 'number') {
    const f = Math.floor(x);
    floor = BigInt(f);
    whole = f === x;
  } else {
    const point = x.indexOf('.');
    const neg = x.startsWith('-');
    const int = BigInt(x.slice(neg ? 1 : 0, point < 0 ? x.length : point));
    whole = point < 0 || /^0+$/.test(x.slice(point + 1));
    floor = neg ? (whole ? -int : -int - 1n) : int;
  }
  const sign = floor < lit ? -1 : floor > lit || !whole ? 1 : 0;
  switch (op) {
    case 'eq':
      return sign === 0;
    case 'lt':
      return sign < 0;
    case 'lte':
      return sign <= 0;
    case 'gt':
      return sign > 0;
    case 'gte':
      return sign >= 0;
  }
}

/** Every scalar value anywhere inside `v`, as text (keyword search scope: values, never keys). */
export function allTexts(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64 || v === null || v === undefined) return out;
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) allTexts(x, out, depth + 1);
  else if (typeof v === 'object') for (const x of Object.values(v as Record<string, unknown>)) allTexts(x, out, depth + 1);
  return out;
}

/** A numeric comparison of docs/semantics.md (the IR's `NumOp`: runtime files do not import the IR). */
export type NumOp = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

export function compareNumber(n: number, op: NumOp, v: number): boolean {
  switch (op) {
    case 'eq':
      return n === v;
    case 'lt':
      return n < v;
    case 'lte':
      return n <= v;
    case 'gt':
      return n > v;
    case 'gte':
      return n >= v;
  }
}

/** The value, or an element of it, is the boolean `b` or its text in any case. */
export function isBool(value: unknown, b: boolean): boolean {
  const text = String(b);
  for (const x of Array.isArray(value) ? value : [value]) if (x === b || (typeof x === 'string' && fold(x) === text)) return true;
  return false;
}
