/**
 * Model -> IR. The only place that reads Sigma modifiers: every modifier's meaning is decided here,
 * once, and the result is a tree of exact primitives (ir/types.ts). Errors carry the position of
 * the modifier or value at fault.
 */
import { closest, error, listChoices, RuleError, warning, type Diagnostic, type Position } from '../diag/diagnostic.js';
import * as B from '../ir/build.js';
import type { Case, GlobToken, Node, NumOp, StrOp, TimePart } from '../ir/types.js';
import type { Condition, Detection, DetectionRule, FieldItem, Parameter, RawValue, SearchIdentifier } from '../model/types.js';
import { expandPattern } from '../parse/condition.js';
import {
  ANY,
  concat,
  hasWildcards,
  isPlaceholder,
  isWildcard,
  parseSigmaString,
  placeholders,
  plainText,
  toSigmaNotation,
  type SigmaString,
} from '../parse/sigma-string.js';
import { formatIp, maskNetwork, parseIp } from '../runtime/ip.js';
import { hasTermChar } from '../runtime/term.js';
import { base64, base64Offsets, utf16, utf8Bytes, WINDASH_CHARS } from './encode.js';
import { normalizeRegex } from './regex.js';

export const MODIFIERS = [
  'contains', 'startswith', 'endswith', 'all', 'base64', 'base64offset', 'utf16le', 'utf16be', 'utf16',
  'wide', 'windash', 're', 'i', 'm', 's', 'ignorecase', 'multiline', 'dotall', 'cidr', 'exists',
  'fieldref', 'gt', 'gte', 'lt', 'lte', 'neq', 'expand', 'cased', 'minute', 'hour', 'day', 'week',
  'month', 'year', 'has',
] as const;
type Modifier = (typeof MODIFIERS)[number];

const TIME_PARTS: readonly TimePart[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];
const COMPARE: readonly string[] = ['gt', 'gte', 'lt', 'lte'];
const REGEX_FLAG: Record<string, string> = { i: 'i', ignorecase: 'i', m: 'm', multiline: 'm', s: 's', dotall: 's' };
const MAX_WINDASH_VARIANTS = 3125;

export interface LowerResult {
  /** Undefined when the rule has errors (they are in diagnostics) or a placeholder without a value. */
  ir: Node | undefined;
  diagnostics: Diagnostic[];
  /** The rule's parameters with the deployment's values applied: what `expand` read (backends name lists from it). */
  parameters: Map<string, Parameter>;
  /** One warning per placeholder that neither the rule nor the deployment gives a value (also in diagnostics). */
  unfilled: Diagnostic[];
}

/**
 * What `expand` reads: the rule's parameters overlaid with the deployment's placeholder values.
 * `used` collects the names read; `unfilled` the names no one gave, at their first use.
 */
interface Scope {
  params: ReadonlyMap<string, Parameter>;
  used: Set<string>;
  unfilled: Map<string, Position>;
}

/** A value on its way through the modifier chain. `bytes`: literals are latin-1 byte strings. */
type Val =
  | { t: 'str'; s: SigmaString; bytes: boolean; param?: string }
  | { t: 'num'; n: number; text: string }
  | { t: 'bool'; b: boolean }
  | { t: 'null' };

/**
 * Lower a detection rule. `values` are the deployment's placeholder values (`--placeholders`,
 * `--placeholder`); a value given there replaces the rule's own parameter of that name, since a
 * rule's parameters are its author's defaults for the deployment to adjust. A placeholder with no
 * value leaves the rule without IR and a warning: the rule is valid Sigma, but nothing may stand in
 * for the value (no wildcard, no empty list).
 */
export function lowerRule(rule: DetectionRule, values: ReadonlyMap<string, Parameter> = new Map()): LowerResult {
  const diagnostics: Diagnostic[] = [];
  const params = new Map(rule.parameters);
  for (const [name, p] of values) {
    // The deployment replaces the values; what the list means stays the rule author's description.
    const own = rule.parameters.get(name);
    params.set(name, own?.description !== undefined && p.description === undefined ? { ...p, description: own.description } : p);
  }
  const scope: Scope = { params, used: new Set(), unfilled: new Map() };
  let ir = lowerDetectionSafe(rule.detection, scope, diagnostics, rule.at);
  const unfilled = unfilledDiagnostics(scope, [...rule.parameters.keys()], 'warning');
  diagnostics.push(...unfilled);
  if (unfilled.length > 0) ir = undefined;
  const parameters = new Map(rule.parameters);
  for (const name of values.keys()) if (parameters.has(name) || scope.used.has(name)) parameters.set(name, params.get(name)!);
  return { ir, diagnostics, parameters, unfilled };
}

/**
 * Lower a filter rule's detection. A filter narrows the rules it names, so one that cannot be
 * built would widen them: a placeholder without a value is an error here, not a warning.
 */
export function lowerFilter(det: Detection, values: ReadonlyMap<string, Parameter>, diagnostics: Diagnostic[], at: Position): Node | undefined {
  const scope: Scope = { params: values, used: new Set(), unfilled: new Map() };
  const ir = lowerDetectionSafe(det, scope, diagnostics, at);
  const unfilled = unfilledDiagnostics(scope, [], 'error');
  diagnostics.push(...unfilled);
  return unfilled.length > 0 ? undefined : ir;
}

function unfilledDiagnostics(scope: Scope, declared: string[], severity: 'warning' | 'error'): Diagnostic[] {
  // A near name among the values given is as likely the typo as one in the rule.
  const given = [...scope.params.keys()].filter((n) => !declared.includes(n));
  return [...scope.unfilled].map(([name, at]) => {
    const near = closest(name, declared);
    const nearGiven = near === undefined ? closest(name, given) : undefined;
    const message =
      `placeholder '%${name}%' has no value (it is not a parameter of this rule` +
      (declared.length ? `; declared: ${declared.join(', ')}${near ? `; did you mean '%${near}%'?` : ''}` : '') +
      (nearGiven ? `; a value was given for '${nearGiven}', not '${name}'` : '') +
      `): give it with --placeholders FILE or --placeholder ${name}=VALUE; the rule is not compiled or run without it`;
    return severity === 'warning' ? warning('placeholder-unfilled', message, at) : error('placeholder-unfilled', message, at);
  });
}

/** lowerDetection with its located errors turned into diagnostics. */
function lowerDetectionSafe(det: Detection, scope: Scope, diagnostics: Diagnostic[], at: Position): Node | undefined {
  try {
    return lowerDetection(det, scope, diagnostics, at);
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    diagnostics.push(e.toDiagnostic());
    return undefined;
  }
}

/**
 * Lower a detection block. Problems in one search identifier do not hide problems in another: each
 * is collected, and the condition is still checked over the identifiers that did lower. Returns
 * undefined when any problem was recorded.
 */
function lowerDetection(
  det: Detection,
  scope: Scope,
  diagnostics: Diagnostic[],
  at: Position,
): Node | undefined {
  const lowered = new Map<string, Node>();
  let failed = false;
  for (const [name, search] of det.searches) {
    try {
      lowered.set(name, lowerSearch(search, scope, diagnostics));
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      diagnostics.push(e.toDiagnostic());
      failed = true;
    }
  }
  if (det.conditions.length === 0) {
    // A condition that did not parse has its own diagnostic already.
    if (det.conditionSource.length === 0) throw new RuleError('condition', "the detection has no 'condition'", at);
    return undefined;
  }
  if (det.conditions.length < det.conditionSource.length) failed = true;
  const names = [...det.searches.keys()];
  const used = new Set<string>();
  const cond = B.or(det.conditions.map((c) => lowerCondition(c, names, lowered, used)));
  for (const name of names) {
    if (!used.has(name)) {
      const s = det.searches.get(name)!;
      diagnostics.push(warning('unused-search', `search identifier '${name}' is not used by the condition`, s.at));
    }
  }
  return failed ? undefined : cond;
}

function lowerCondition(c: Condition, names: string[], lowered: Map<string, Node>, used: Set<string>): Node {
  switch (c.kind) {
    case 'and':
      return B.and(c.children.map((x) => lowerCondition(x, names, lowered, used)));
    case 'or':
      return B.or(c.children.map((x) => lowerCondition(x, names, lowered, used)));
    case 'not':
      return B.not(lowerCondition(c.child, names, lowered, used));
    case 'ref': {
      if (!names.includes(c.name)) {
        const near = closest(c.name, names);
        throw new RuleError(
          'unknown-search',
          `the condition names '${c.name}', which is not a search identifier of this detection` +
            (near ? `; did you mean '${near}'?` : names.length ? ` (defined: ${listChoices(names)})` : ''),
          c.at,
        );
      }
      used.add(c.name);
      return lowered.get(c.name) ?? B.FALSE;
    }
    case 'quantified': {
      const matched = expandPattern(c.pattern, names);
      if (matched.length === 0) {
        throw new RuleError(
          'unknown-search',
          `'${c.quantifier === 'all' ? 'all' : '1'} of ${c.pattern}' matches no search identifier (defined: ${listChoices(names)})`,
          c.at,
        );
      }
      for (const m of matched) used.add(m);
      const parts = matched.map((m) => lowered.get(m) ?? B.FALSE);
      return c.quantifier === 'all' ? B.and(parts) : B.or(parts);
    }
  }
}

function lowerSearch(s: SearchIdentifier, scope: Scope, diags: Diagnostic[]): Node {
  if (s.kind === 'keywords') return lowerItem(s.item, scope, diags);
  return B.or(s.maps.map((m) => B.and(m.map((item) => lowerItem(item, scope, diags)))));
}

function modifierList(item: FieldItem): { name: Modifier; at: Position }[] {
  const out: { name: Modifier; at: Position }[] = [];
  const seen = new Set<string>();
  for (const m of item.modifiers) {
    if (!(MODIFIERS as readonly string[]).includes(m.name)) {
      const near = closest(m.name, MODIFIERS);
      throw new RuleError(
        'unknown-modifier',
        `unknown modifier '${m.name}'` + (near ? `; did you mean '${near}'?` : `; valid modifiers: ${MODIFIERS.join(', ')}`),
        m.at,
      );
    }
    if (seen.has(m.name)) throw new RuleError('modifier-combination', `modifier '${m.name}' is given twice`, m.at);
    seen.add(m.name);
    out.push({ name: m.name as Modifier, at: m.at });
  }
  return out;
}

/** One `Field|modifiers: values` item -> IR. */
function lowerItem(item: FieldItem, scope: Scope, diags: Diagnostic[]): Node {
  const mods = modifierList(item);
  const has = (n: Modifier): boolean => mods.some((m) => m.name === n);
  const modAt = (n: Modifier): Position => mods.find((m) => m.name === n)?.at ?? item.at;
  const field = item.field;
  const cs: Case = has('cased') ? 'cs' : 'ci';
  const all = has('all');
  const neq = has('neq');
  const names = mods.map((m) => m.name);

  if (all && item.values.length < 2 && item.isList === false) {
    diags.push(warning('all-single-value', "'all' on a single value has no effect; it combines the values of a list with AND", modAt('all')));
  }
  if (field === null) return lowerKeywords(item, names, cs, modAt);

  // Modifiers that replace the value semantics entirely.
  if (has('exists')) {
    if (mods.length > 1) throw new RuleError('modifier-combination', "'exists' cannot be combined with other modifiers", mods.find((m) => m.name !== 'exists')!.at);
    const v = single(item, 'exists');
    if (v.type !== 'boolean') throw new RuleError('value-type', `'exists' takes true or false, found ${describe(v)}`, v.at);
    const leaf: Node = { kind: 'exists', field };
    return v.value ? leaf : B.not(leaf);
  }
  if (has('has')) return lowerHas(item, field, mods, scope, cs, all, neq);
  if (has('re')) return lowerRegex(item, field, mods, all, neq);
  if (has('cidr')) return lowerCidr(item, field, mods, all, neq);
  if (has('fieldref')) return lowerFieldRef(item, field, mods, cs, all, neq);
  const part = TIME_PARTS.find((p) => has(p));
  const cmp = mods.find((m) => COMPARE.includes(m.name));
  if (part || cmp) return lowerNumeric(item, field, mods, part, cmp?.name as NumOp | undefined, all, neq);

  for (const m of mods) {
    if (REGEX_FLAG[m.name]) throw new RuleError('modifier-combination', `modifier '${m.name}' is a regular-expression flag; it needs 're' before it`, m.at);
  }

  const expand = has('expand');
  const leaves: Node[] = [];
  for (const raw of item.values) {
    let vals: Val[] = [initial(raw, expand)];
    for (const m of mods) vals = applyModifier(m.name, m.at, vals, raw, scope, item);
    const perValue = vals.map((v) => leafOf(field, v, cs, raw));
    const param = vals.length > 0 && vals.every((v) => v.t === 'str' && v.param !== undefined) ? (vals[0] as { param: string }).param : undefined;
    // Expansions of one written value (windash, base64offset, a parameter) are alternatives even under `all`.
    leaves.push(param !== undefined ? B.or(perValue, { name: param }) : B.or(perValue));
  }
  return combine(leaves, all, neq);
}

/** The values of an item: OR-ed, AND-ed under `all`, the whole negated under `neq`. */
function combine(leaves: Node[], all: boolean, neq: boolean): Node {
  const combined = all ? B.and(leaves) : B.or(leaves);
  return neq ? B.not(combined) : combined;
}

function single(item: FieldItem, mod: string): RawValue {
  if (item.values.length !== 1 || item.isList) {
    throw new RuleError('value-type', `'${mod}' takes a single value, not a list`, item.values[1]?.at ?? item.at);
  }
  return item.values[0]!;
}

function describe(v: RawValue): string {
  switch (v.type) {
    case 'string':
      return `the string '${v.value}'`;
    case 'number':
      return `the number ${v.text}`;
    case 'boolean':
      return String(v.value);
    case 'null':
      return 'null';
  }
}

function initial(raw: RawValue, expand: boolean): Val {
  switch (raw.type) {
    case 'string':
      return { t: 'str', s: parseSigmaString(raw.value, expand), bytes: false };
    case 'number':
      return { t: 'num', n: raw.value, text: raw.text };
    case 'boolean':
      return { t: 'bool', b: raw.value };
    case 'null':
      return { t: 'null' };
  }
}

/** Modifiers that act on values; the others were handled by the caller or only set flags. */
function applyModifier(
  name: Modifier,
  at: Position,
  vals: Val[],
  raw: RawValue,
  scope: Scope,
  item: FieldItem,
): Val[] {
  const needStr = (v: Val): Extract<Val, { t: 'str' }> => {
    if (v.t === 'str') return v;
    if (v.t === 'num') return { t: 'str', s: parseSigmaString(v.text), bytes: false };
    throw new RuleError('value-type', `modifier '${name}' applies to strings, not to ${describe(raw)}`, raw.at);
  };
  const noPlaceholders = (v: Extract<Val, { t: 'str' }>): void => {
    if (placeholders(v.s).length > 0) throw new RuleError('modifier-combination', `'expand' must come before '${name}' so that placeholders are resolved first`, at);
  };
  switch (name) {
    case 'contains':
    case 'startswith':
    case 'endswith':
      return vals.map((v0) => {
        const v = needStr(v0);
        const head = name !== 'startswith' && !startsWithAny(v.s) ? [ANY] : [];
        const tail = name !== 'endswith' && !endsWithAny(v.s) ? [ANY] : [];
        return { ...v, s: concat(head, v.s, tail) };
      });
    case 'wide':
    case 'utf16le':
    case 'utf16be':
    case 'utf16':
      return vals.map((v0) => {
        const v = needStr(v0);
        noPlaceholders(v);
        if (v.bytes) throw new RuleError('modifier-combination', `'${name}' cannot encode a value that is already encoded`, at);
        const variant = name === 'utf16be' ? 'be' : name === 'utf16' ? 'bom' : 'le';
        // A BOM belongs at the start of the text only, not of every literal run.
        let first = true;
        const s = v.s.map((p) => {
          if (typeof p !== 'string') return p;
          const enc = utf16(p, first || variant !== 'bom' ? variant : 'le');
          first = false;
          return enc;
        });
        return { t: 'str', s, bytes: true };
      });
    case 'base64':
    case 'base64offset':
      return vals.flatMap((v0) => {
        const v = needStr(v0);
        noPlaceholders(v);
        if (hasWildcards(v.s)) {
          throw new RuleError(
            'modifier-combination',
            `'${name}' cannot encode wildcards ('${toSigmaNotation(v.s)}'); put 'contains', 'startswith' or 'endswith' after '${name}'`,
            raw.at,
          );
        }
        const text = plainText(v.s)!;
        const bytes = v.bytes ? text : utf8Bytes(text);
        const out = name === 'base64' ? [base64(bytes)] : base64Offsets(bytes);
        return out.map((s): Val => ({ t: 'str', s: s === '' ? [] : [s], bytes: false }));
      });
    case 'windash': {
      const strs = vals.map(needStr);
      // Counted before anything is built: each dash multiplies the alternatives by five, and 12 dashes
      // already make 244 million (seconds and gigabytes before a refusal measured after the fact).
      let total = 0;
      let dashes = 0;
      for (const v of strs) {
        const n = windashPositions(windashUnits(v.s)).length;
        dashes = Math.max(dashes, n);
        total += WINDASH_CHARS.length ** n;
      }
      if (total > MAX_WINDASH_VARIANTS) {
        const count = total > 1e15 ? `about ${total.toExponential(1)}` : String(total);
        throw new RuleError(
          'windash',
          `'windash' would produce ${count} alternatives of this value (${dashes} dashes or slashes at the start of a word, ${WINDASH_CHARS.length} forms each), more than the ${MAX_WINDASH_VARIANTS} allowed; split it into several values`,
          raw.at,
        );
      }
      return strs.flatMap((v) => windash(v.s).map((s): Val => ({ ...v, s })));
    }
    case 'expand':
      return vals.flatMap((v0) => {
        const v = needStr(v0);
        const names = placeholders(v.s);
        if (names.length === 0) return [v];
        for (const n of names) scope.used.add(n);
        const missing = names.filter((n) => !scope.params.has(n));
        if (missing.length > 0) {
          for (const n of missing) if (!scope.unfilled.has(n)) scope.unfilled.set(n, raw.at);
          // The rule gets no IR (lowerRule); the rest of it is still checked.
          return [];
        }
        const out = expandPlaceholders(v.s, scope.params);
        const param = names.length === 1 ? names[0] : undefined;
        return out.map((s): Val => (param !== undefined ? { t: 'str', s, bytes: v.bytes, param } : { t: 'str', s, bytes: v.bytes }));
      });
    default:
      // all, cased, neq: flags read by the caller.
      void item;
      return vals;
  }
}

function startsWithAny(s: SigmaString): boolean {
  const f = s[0];
  return f !== undefined && isWildcard(f) && f.wildcard === '*';
}

function endsWithAny(s: SigmaString): boolean {
  const l = s[s.length - 1];
  return l !== undefined && isWildcard(l) && l.wildcard === '*';
}

function expandPlaceholders(s: SigmaString, params: ReadonlyMap<string, Parameter>): SigmaString[] {
  let acc: SigmaString[] = [[]];
  for (const p of s) {
    if (!isPlaceholder(p)) {
      acc = acc.map((a) => concat(a, [p]));
      continue;
    }
    const values = params.get(p.placeholder)!.values.map((v) =>
      v.type === 'string' ? parseSigmaString(v.value) : parseSigmaString(v.type === 'number' ? v.text : String(v.type === 'boolean' ? v.value : '')),
    );
    acc = acc.flatMap((a) => values.map((v) => concat(a, v)));
  }
  return acc;
}

/** The value as single characters and wildcard/placeholder tokens. */
function windashUnits(s: SigmaString): (string | SigmaString[number])[] {
  const flat: (string | SigmaString[number])[] = [];
  for (const p of s) {
    if (typeof p === 'string') for (const ch of p) flat.push(ch);
    else flat.push(p);
  }
  return flat;
}

/** Indexes of the `-` and `/` that start a word (`\B[-/]\b`): each becomes every windash form. */
function windashPositions(flat: readonly (string | SigmaString[number])[]): number[] {
  const isWordChar = (x: unknown): boolean => typeof x === 'string' && /\w/.test(x);
  const out: number[] = [];
  for (let i = 0; i < flat.length; i++) {
    const x = flat[i];
    if ((x === '-' || x === '/') && !isWordChar(flat[i - 1]) && isWordChar(flat[i + 1])) out.push(i);
  }
  return out;
}

/**
 * Windows accepts `-`, `/` and the Unicode dashes for an option prefix. Only a dash at the start of
 * a word is rewritten (`\B[-/]\b`, pySigma): a hyphen inside a word such as `x-y` is not an option.
 */
function windash(s: SigmaString): SigmaString[] {
  const flat = windashUnits(s);
  const positions = new Set(windashPositions(flat));
  let acc: SigmaString[] = [[]];
  for (let i = 0; i < flat.length; i++) {
    const x = flat[i]!;
    if (positions.has(i)) acc = acc.flatMap((a) => WINDASH_CHARS.map((d) => concat(a, [d])));
    else acc = acc.map((a) => concat(a, [x as SigmaString[number]]));
  }
  return acc;
}

function globTokens(s: SigmaString): GlobToken[] {
  return s.map((p) => (typeof p === 'string' ? p : isWildcard(p) ? { wildcard: p.wildcard } : `%${p.placeholder}%`));
}

/** Pick the primitive for a final value: equals / prefix / suffix / contains / glob (pySigma dispatch). */
function leafOf(field: string, v: Val, cs: Case, raw: RawValue): Node {
  switch (v.t) {
    case 'num':
      return numLeaf(field, 'eq', v.n, v.text, raw.at);
    case 'bool':
      return { kind: 'bool', field, value: v.b };
    case 'null':
      return { kind: 'null', field };
    case 'str':
      return strLeaf(field, v.s, cs, raw);
  }
}

function strLeaf(field: string, s: SigmaString, cs: Case, raw: RawValue): Node {
  if (placeholders(s).length > 0) throw new RuleError('internal', 'unresolved placeholder', raw.at);
  const n = s.length;
  const lit = (i: number): string | undefined => (typeof s[i] === 'string' ? (s[i] as string) : undefined);
  const star = (i: number): boolean => {
    const p = s[i];
    return p !== undefined && isWildcard(p) && p.wildcard === '*';
  };
  let op: StrOp | undefined;
  let value: string | undefined;
  if (n === 0) [op, value] = ['eq', ''];
  else if (n === 1 && lit(0) !== undefined) [op, value] = ['eq', lit(0)];
  else if (n === 2 && lit(0) !== undefined && star(1)) [op, value] = ['prefix', lit(0)];
  else if (n === 2 && star(0) && lit(1) !== undefined) [op, value] = ['suffix', lit(1)];
  else if (n === 3 && star(0) && lit(1) !== undefined && star(2)) [op, value] = ['contains', lit(1)];
  if (op !== undefined && value !== undefined) return { kind: 'str', field, op, value, case: cs };
  return { kind: 'glob', field, pattern: globTokens(s), case: cs };
}

function lowerKeywords(item: FieldItem, names: Modifier[], cs: Case, modAt: (n: Modifier) => Position): Node {
  const allowed: Modifier[] = ['all', 'cased', 'contains', 'startswith', 'endswith'];
  const bad = names.find((n) => !allowed.includes(n));
  if (bad) {
    throw new RuleError('modifier-combination', `a keyword (field-less) search takes only the modifiers ${allowed.join(', ')}; '${bad}' needs a field`, modAt(bad));
  }
  const leaves = item.values.map((v): Node => {
    if (v.type === 'null') throw new RuleError('value-type', 'null is not a keyword; use `Field: null` to test for an empty field', v.at);
    const text = v.type === 'string' ? v.value : v.type === 'number' ? v.text : String(v.value);
    return { kind: 'keyword', pattern: trimStars(globTokens(parseSigmaString(text))), case: cs };
  });
  return names.includes('all') ? B.and(leaves) : B.or(leaves);
}

/** A keyword is a substring search already: leading and trailing `*` add nothing. */
function trimStars(p: GlobToken[]): GlobToken[] {
  let a = 0;
  let b = p.length;
  const isStar = (t: GlobToken | undefined): boolean => typeof t === 'object' && t.wildcard === '*';
  while (a < b && isStar(p[a])) a++;
  while (b > a && isStar(p[b - 1])) b--;
  return p.slice(a, b);
}

function only(mods: { name: Modifier; at: Position }[], first: Modifier, allowed: Modifier[]): void {
  const idx = mods.findIndex((m) => m.name === first);
  if (idx > 0) throw new RuleError('modifier-combination', `'${first}' must be the first modifier`, mods[idx]!.at);
  for (const m of mods) {
    if (m.name !== first && !allowed.includes(m.name)) {
      throw new RuleError('modifier-combination', `'${m.name}' cannot be combined with '${first}' (allowed with it: ${allowed.join(', ') || 'none'})`, m.at);
    }
  }
}

function lowerRegex(item: FieldItem, field: string, mods: { name: Modifier; at: Position }[], all: boolean, neq: boolean): Node {
  only(mods, 're', ['i', 'm', 's', 'ignorecase', 'multiline', 'dotall', 'all', 'neq']);
  const extra = mods.map((m) => REGEX_FLAG[m.name]).filter((f): f is string => f !== undefined).join('');
  const leaves = item.values.map((v): Node => {
    if (v.type !== 'string') throw new RuleError('value-type', `'re' takes a regular expression string, found ${describe(v)}`, v.at);
    const r = normalizeRegex(v.value, extra);
    if (!r.ok) throw new RuleError('invalid-regex', `invalid regular expression /${v.value}/: ${r.reason}`, v.at);
    return { kind: 'regex', field, pattern: r.regex.pattern, flags: r.regex.flags };
  });
  return combine(leaves, all, neq);
}

function lowerCidr(item: FieldItem, field: string, mods: { name: Modifier; at: Position }[], all: boolean, neq: boolean): Node {
  only(mods, 'cidr', ['all', 'neq']);
  const leaves = item.values.map((v): Node => {
    if (v.type !== 'string') throw new RuleError('value-type', `'cidr' takes a network such as 10.0.0.0/8 or fe80::/10, found ${describe(v)}`, v.at);
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(v.value.trim());
    const addr = m ? parseIp(m[1]!) : undefined;
    const bits = addr ? addr.length * 8 : 0;
    const prefix = m?.[2] !== undefined ? Number(m[2]) : bits;
    if (!m || !addr || prefix > bits) {
      throw new RuleError('invalid-cidr', `invalid CIDR network '${v.value}': expected an IPv4 or IPv6 address with an optional /prefix, such as 10.0.0.0/8 or fe80::/10`, v.at);
    }
    return { kind: 'cidr', field, family: addr.length === 4 ? 4 : 6, network: formatIp(maskNetwork(addr, prefix)), prefix };
  });
  return combine(leaves, all, neq);
}

/**
 * `has` (a rulec extension): the term match of KQL's `has` family. Values are literal search strings;
 * a list is OR-ed (`has_any`), AND-ed with `all` (`has_all`), `cased` is `has_cs`.
 */
function lowerHas(
  item: FieldItem,
  field: string,
  mods: { name: Modifier; at: Position }[],
  scope: Scope,
  cs: Case,
  all: boolean,
  neq: boolean,
): Node {
  const allowed: Modifier[] = ['has', 'cased', 'all', 'neq', 'expand'];
  for (const m of mods) {
    if (allowed.includes(m.name)) continue;
    const why = ['contains', 'startswith', 'endswith'].includes(m.name)
      ? `; a term match is neither a substring nor a prefix or suffix match: use '${m.name}' without 'has' for that`
      : m.name === 're' || REGEX_FLAG[m.name]
        ? '; a term match is not a regular expression: use \'re\' without \'has\' for one'
        : '';
    throw new RuleError('modifier-combination', `'${m.name}' cannot be combined with 'has' (allowed with it: ${allowed.slice(1).join(', ')})${why}`, m.at);
  }
  const expandAt = mods.find((m) => m.name === 'expand')?.at;
  const leaves = item.values.map((raw): Node => {
    if (raw.type !== 'string' && raw.type !== 'number') {
      throw new RuleError('value-type', `'has' searches a field's text for terms; it takes strings, found ${describe(raw)}`, raw.at);
    }
    let vals: Val[] = [{ t: 'str', s: parseSigmaString(raw.type === 'string' ? raw.value : raw.text, expandAt !== undefined), bytes: false }];
    if (expandAt !== undefined) vals = applyModifier('expand', expandAt, vals, raw, scope, item);
    const perValue = vals.map((v): Node => {
      const s = (v as Extract<Val, { t: 'str' }>).s;
      if (hasWildcards(s)) {
        throw new RuleError(
          'value-type',
          `'has' matches its value literally and takes no wildcards ('${toSigmaNotation(s)}'); escape '*' and '?' as '\\*' and '\\?' to search for the characters`,
          raw.at,
        );
      }
      const value = plainText(s)!;
      if (!hasTermChar(value)) {
        throw new RuleError(
          'value-type',
          `'has' looks for terms, runs of ASCII letters and digits, and '${value}' holds none, so it names no term; give a value with a letter or digit, or use 'contains' for a substring`,
          raw.at,
        );
      }
      return { kind: 'has', field, value, case: cs };
    });
    const param = vals.length > 0 && vals.every((v) => v.t === 'str' && v.param !== undefined) ? (vals[0] as { param: string }).param : undefined;
    return param !== undefined ? B.or(perValue, { name: param }) : B.or(perValue);
  });
  return combine(leaves, all, neq);
}

function lowerFieldRef(item: FieldItem, field: string, mods: { name: Modifier; at: Position }[], cs: Case, all: boolean, neq: boolean): Node {
  only(mods, 'fieldref', ['contains', 'startswith', 'endswith', 'cased', 'all', 'neq']);
  const mod = mods.find((m) => ['contains', 'startswith', 'endswith'].includes(m.name))?.name;
  const op: StrOp = mod === 'contains' ? 'contains' : mod === 'startswith' ? 'prefix' : mod === 'endswith' ? 'suffix' : 'eq';
  const leaves = item.values.map((v): Node => {
    if (v.type !== 'string' || v.value === '') throw new RuleError('value-type', `'fieldref' takes the name of another field, found ${describe(v)}`, v.at);
    if (/[*?]/.test(v.value)) throw new RuleError('value-type', `'fieldref' takes a field name, not a pattern ('${v.value}')`, v.at);
    return { kind: 'fieldref', field, op, other: v.value, case: cs };
  });
  return combine(leaves, all, neq);
}

function lowerNumeric(
  item: FieldItem,
  field: string,
  mods: { name: Modifier; at: Position }[],
  part: TimePart | undefined,
  cmp: NumOp | undefined,
  all: boolean,
  neq: boolean,
): Node {
  const allowed: Modifier[] = ['gt', 'gte', 'lt', 'lte', 'all', 'neq', ...TIME_PARTS];
  for (const m of mods) {
    if (!allowed.includes(m.name)) {
      throw new RuleError('modifier-combination', `'${m.name}' cannot be combined with ${part ? `'${part}'` : `'${cmp}'`}; numeric comparisons take only a time part, gt/gte/lt/lte, all and neq`, m.at);
    }
  }
  const parts = mods.filter((m) => (TIME_PARTS as readonly string[]).includes(m.name));
  if (parts.length > 1) throw new RuleError('modifier-combination', 'only one time part (minute, hour, day, week, month, year) per item', parts[1]!.at);
  const cmps = mods.filter((m) => COMPARE.includes(m.name));
  if (cmps.length > 1) throw new RuleError('modifier-combination', 'only one of gt, gte, lt, lte per item', cmps[1]!.at);
  if (part && cmps.length === 1 && mods.indexOf(cmps[0]!) < mods.indexOf(parts[0]!)) {
    throw new RuleError('modifier-combination', `write the time part before the comparison: '${field}|${part}|${cmp}'`, cmps[0]!.at);
  }
  const leaves = item.values.map((v): Node => {
    if (v.type !== 'number') {
      throw new RuleError('value-type', `'${cmp ?? part}' compares numbers; found ${describe(v)}` + (v.type === 'string' && /^-?\d+(\.\d+)?$/.test(v.value) ? ` (write it without quotes: ${v.value})` : ''), v.at);
    }
    return numLeaf(field, cmp ?? 'eq', v.value, v.text, v.at, part);
  });
  return combine(leaves, all, neq);
}

function numLeaf(field: string, op: NumOp, value: number, text: string, at: Position, part?: TimePart): Node {
  const exact = exactInteger(text, value, at);
  if (exact !== undefined && part) {
    throw new RuleError('value-type', `'${part}' compares a part of a timestamp, a small number; ${text} is beyond 2^53`, at);
  }
  const leaf: Node = { kind: 'num', field, op, value };
  if (exact !== undefined) leaf.exact = exact;
  if (part) leaf.part = part;
  return leaf;
}

/**
 * The exact text of an integer beyond 2^53 that a YAML number's source spells, so that nothing
 * downstream rounds it or prints the double's shortest text; undefined when `value` is the number
 * written. A fraction with more digits than a double keeps is refused: every target would compare it
 * rounded.
 */
function exactInteger(text: string, value: number, at: Position): string | undefined {
  const t = text.replace(/^\+/, '');
  let int: bigint;
  if (/^-?0[xob]/i.test(t)) int = t.startsWith('-') ? -BigInt(t.slice(1).toLowerCase()) : BigInt(t.toLowerCase());
  else {
    const p = decimalParts(t);
    if (!p) return undefined;
    if (p.exp < 0) {
      const read = decimalParts(String(value));
      if (read && (read.digits !== p.digits || read.exp !== p.exp)) {
        throw new RuleError('value-type', `${text} has more digits than a 64-bit float keeps (every target would compare it as ${value}); write ${value}`, at);
      }
      return undefined;
    }
    int = BigInt(p.digits || '0') * 10n ** BigInt(p.exp);
    if (p.neg) int = -int;
  }
  // From 2^53 on (2^53 itself too: the double 2^53 is also 2^53 + 1 read from an event's text), and also
  // when the double happens to be exact (2^63): its shortest text (9223372036854776000) is not.
  return int >= 2n ** 53n || int <= -(2n ** 53n) ? String(int) : undefined;
}

/** A decimal number's text (`-12.50e3`) as sign, digits and power of ten, with no leading or trailing zero digit. */
function decimalParts(t: string): { neg: boolean; digits: string; exp: number } | undefined {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:e([-+]?\d+))?$/i.exec(t);
  if (!m) return undefined;
  let digits = ((m[2] ?? '') + (m[3] ?? '')).replace(/^0+/, '');
  let exp = Number(m[4] ?? 0) - (m[3] ?? '').length;
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exp++;
  }
  return { neg: m[1] === '-', digits, exp: digits === '' ? 0 : exp };
}
