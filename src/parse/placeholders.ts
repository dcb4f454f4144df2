/**
 * Placeholder values a deployment gives for `%name%` (pySigma's value placeholders): a YAML file of
 * `name: value`, `name: [values]` or `name: {description, values}` (the form of a rule's
 * `parameters:`), and `name=value` command-line pairs. Values are Sigma strings, as a parameter's are.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YNode } from 'yaml';
import { NO_POSITION, RuleError, type Diagnostic } from '../diag/diagnostic.js';
import type { Parameter, RawValue } from '../model/types.js';
import { child, Ctx, keyText, rawValue } from './rule.js';
import { PLACEHOLDER_NAME } from './sigma-string.js';

const NAME_RULE = 'a letter or _ followed by letters, digits, _, . or -';

/** Parse a placeholder file; every problem is located (line, column) and none stops the others. */
export function parsePlaceholderFile(text: string): { values: Map<string, Parameter>; diagnostics: Diagnostic[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const ctx = new Ctx(lc);
  const values = new Map<string, Parameter>();
  for (const e of doc.errors) {
    ctx.err('yaml-syntax', `YAML syntax error: ${e.message.split('\n')[0]}`, ctx.at(e.pos[0]));
  }
  if (doc.errors.length > 0) return { values, diagnostics: ctx.diags };
  const root = doc.contents as YNode | null;
  if (root === null || (isScalar(root) && root.value === null)) return { values, diagnostics: ctx.diags };
  if (!isMap(root)) {
    ctx.err('placeholder-file', 'a placeholder file is a YAML map of name: value or name: [values]', ctx.pos(root));
    return { values, diagnostics: ctx.diags };
  }
  for (const pair of root.items) {
    const at = ctx.pos(pair);
    const name = keyText(pair);
    if (name === undefined || !PLACEHOLDER_NAME.test(name)) {
      ctx.err('placeholder-name', `${name === undefined ? 'this key' : `'${name}'`} cannot be a placeholder name: write ${NAME_RULE}`, at);
      continue;
    }
    try {
      const p = readEntry(ctx, name, pair.value as YNode | null);
      p.at = at;
      values.set(name, p);
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      ctx.diags.push(e.toDiagnostic());
    }
  }
  return { values, diagnostics: ctx.diags };
}

function readEntry(ctx: Ctx, name: string, node: YNode | null): Parameter {
  let description: string | undefined;
  let valuesNode = node;
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = keyText(pair);
      if (k !== 'values' && k !== 'description') {
        throw new RuleError('placeholder-value', `placeholder '${name}' takes only 'values' and 'description' in its map form, not '${k ?? '?'}'`, ctx.pos(pair));
      }
    }
    const d = child(node, 'description');
    if (d !== undefined) {
      if (!isScalar(d) || typeof d.value !== 'string') throw new RuleError('placeholder-value', `the description of placeholder '${name}' must be a string`, ctx.pos(d));
      description = d.value;
    }
    valuesNode = child(node, 'values') ?? null;
    if (valuesNode === null) throw new RuleError('placeholder-value', `placeholder '${name}' has a map without 'values'; write its value or list of values`, ctx.pos(node));
  }
  const items = isSeq(valuesNode) ? (valuesNode.items as (YNode | null)[]) : [valuesNode];
  if (items.length === 0) {
    // An empty list would make the selection match nothing (or, under `not`, everything): never by accident.
    throw new RuleError('placeholder-value', `placeholder '${name}' has an empty list; give at least one value`, ctx.pos(valuesNode));
  }
  const values = items.map((item): RawValue => {
    const v = rawValue(ctx, item);
    if (v.type === 'null') throw new RuleError('placeholder-value', `placeholder '${name}' has an empty (null) value; write the value, quoted if needed ('' for the empty string)`, v.at);
    return v;
  });
  const p: Parameter = { name, values, at: NO_POSITION };
  if (description !== undefined) p.description = description;
  return p;
}

/**
 * `--placeholder name=value` pairs, in order. Repeating a name makes a list of its values. Returns
 * the values, or the message of the first malformed pair.
 */
export function parsePlaceholderPairs(pairs: readonly string[]): { values: Map<string, Parameter> } | { error: string } {
  const values = new Map<string, Parameter>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0) return { error: `--placeholder '${pair}' needs a value: write --placeholder ${PLACEHOLDER_NAME.test(name) ? name : 'name'}=VALUE` };
    if (!PLACEHOLDER_NAME.test(name)) return { error: `--placeholder '${pair}': '${name}' cannot be a placeholder name: write ${NAME_RULE}, then =VALUE` };
    const text = pair.slice(eq + 1);
    if (text === '') return { error: `--placeholder '${pair}' has an empty value; give the value after '=' (an empty string can be given in a --placeholders file as ${name}: '')` };
    const v: RawValue = { type: 'string', value: text, at: NO_POSITION };
    const p = values.get(name);
    if (p) p.values.push(v);
    else values.set(name, { name, values: [v], at: NO_POSITION });
  }
  return { values };
}
