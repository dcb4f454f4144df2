/**
 * JSON Schema validation of rule documents (schema/rule.schema.json, the file editors use too).
 * ajv errors are turned into located diagnostics: the instance path is resolved to the YAML node.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { writeFileAtomic } from '../util/atomic.js';
import { closest } from '../diag/diagnostic.js';

export const SCHEMA_URL = new URL('../../schema/rule.schema.json', import.meta.url);

type Kind = 'detectionRule' | 'correlationRule' | 'filterRule';

let validators: Map<Kind, ValidateFunction> | undefined;
const KINDS: Kind[] = ['detectionRule', 'correlationRule', 'filterRule'];
const require = createRequire(import.meta.url);

/**
 * The validators, as ajv's standalone code: compiling the schema takes ajv 0.2 to 0.4 s of CPU,
 * more than a warm build with one rule file changed spends on anything else, and its generated code
 * depends only on the schema and ajv. The code is kept beside rulec's own compiled code (named by a
 * hash of the schema and ajv's version), never in the rule cache: code that runs must come from
 * where rulec's code comes from, while the cache folder may be shared or restored by CI. Where
 * rulec's folder is read-only, each process compiles the schema.
 */
function load(): Map<Kind, ValidateFunction> {
  if (validators) return validators;
  const version = (require('ajv/package.json') as { version: string }).version;
  const schemaText = readFileSync(SCHEMA_URL, 'utf8');
  const key = createHash('sha256').update(`ajv ${version}\0`).update(schemaText).digest('hex').slice(0, 16);
  const file = fileURLToPath(new URL(`./rule-validators-${key}.cjs`, import.meta.url));
  let exports: Record<Kind, ValidateFunction> | undefined;
  try {
    exports = require(file) as Record<Kind, ValidateFunction>;
  } catch {
    const schema = JSON.parse(schemaText) as { $id: string };
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true, strictRequired: false, verbose: true, code: { source: true } });
    ajv.addSchema(schema);
    const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;
    const code = standaloneCode(ajv, Object.fromEntries(KINDS.map((k) => [k, `${schema.$id}#/definitions/${k}`])));
    try {
      writeFileAtomic(file, code);
    } catch {
      // a read-only install: compiled again by the next process
    }
    // The generated module is CommonJS and requires ajv's runtime helpers only.
    const module = { exports: {} as Record<Kind, ValidateFunction> };
    new Function('require', 'module', 'exports', code)(require, module, module.exports);
    exports = module.exports;
  }
  validators = new Map(KINDS.map((k) => [k, exports![k]]));
  return validators;
}

export interface SchemaProblem {
  /** Path segments to the offending value (keys and list indexes). */
  path: (string | number)[];
  /** For an unexpected key, the key itself (its position is the key's). */
  key?: string;
  message: string;
}

export function validateDocument(kind: Kind, value: unknown): SchemaProblem[] {
  const validate = load().get(kind)!;
  if (validate(value)) return [];
  return summarize(validate.errors ?? [], value);
}

function segments(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * ajv reports every failed branch of a `oneOf`; a reader wants one message per location. Keep the
 * deepest errors, merge type errors at one path, and drop combinator noise when something more
 * specific was said about the same value.
 */
function summarize(errors: ErrorObject[], doc: unknown): SchemaProblem[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const paths = [...byPath.keys()];
  const out: SchemaProblem[] = [];
  for (const [p, errs] of byPath) {
    const deeper = paths.some((q) => q !== p && q.startsWith(p + '/'));
    const specific = errs.filter((e) => !['oneOf', 'anyOf', 'allOf', 'not', 'if'].includes(e.keyword));
    if (deeper && specific.every((e) => e.keyword === 'type' || e.keyword === 'required')) {
      // A deeper message explains the branch that almost fit; the type errors of the other branches are noise.
      const hasRequired = specific.some((e) => e.keyword === 'required');
      if (!hasRequired) continue;
    }
    const path = segments(p);
    const types = new Set<string>();
    for (const e of specific) {
      if (e.keyword === 'type') {
        for (const t of String((e.params as { type: string | string[] }).type).split(',')) types.add(t);
        continue;
      }
      out.push(describe(e, path));
    }
    if (types.size > 0) {
      // ajv's number type excludes infinities and NaN; "must be a number" would puzzle whoever wrote .inf or 1e400.
      const v = valueAt(doc, path);
      const message =
        typeof v === 'number' && types.has('number')
          ? `${where(path)}is ${Number.isNaN(v) ? 'not a number (.nan)' : `${v < 0 ? 'negative ' : ''}infinity (YAML reads .inf and numbers beyond about 1.8e308 so)`}; rules compare finite numbers only: write a finite number, or quote the value to match it as text`
          : `${where(path)}must be ${joinOr([...types].map(typeName))}`;
      out.push({ path, message });
    }
    if (specific.length === 0 && !deeper) {
      const e = errs.find((x) => x.keyword === 'not');
      out.push({ path, message: e ? `${where(path)}has a form that is not allowed here` : `${where(path)}is invalid` });
    }
  }
  return dedupe(out);
}

function valueAt(doc: unknown, path: (string | number)[]): unknown {
  let v = doc;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

function dedupe(list: SchemaProblem[]): SchemaProblem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = p.path.join('/') + '\0' + p.message;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function typeName(t: string): string {
  return t === 'object' ? 'a map' : t === 'array' ? 'a list' : t === 'null' ? 'null' : `a ${t}`;
}

function joinOr(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function where(path: (string | number)[]): string {
  if (path.length === 0) return 'the document ';
  return `'${path.map((s) => (typeof s === 'number' ? `[${s}]` : s)).join('.').replace(/\.\[/g, '[')}' `;
}

function describe(e: ErrorObject, path: (string | number)[]): SchemaProblem {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path, message: `${where(path)}is missing the required key '${String(params.missingProperty)}'` };
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const valid = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const near = closest(key, valid);
      const hint = near ? `; did you mean '${near}'?` : valid.length ? `; valid keys: ${valid.join(', ')}` : '';
      return { path, key, message: `unknown key '${key}' in ${where(path).trim()}${hint}` };
    }
    case 'enum':
      return {
        path,
        message: `${where(path)}must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`,
      };
    case 'pattern':
      return { path, message: `${where(path)}${patternHint(path, String(params.pattern))}` };
    case 'minItems':
      return { path, message: `${where(path)}must not be empty` };
    case 'minLength':
      return { path, message: `${where(path)}must not be empty` };
    case 'maxLength':
      return { path, message: `${where(path)}is longer than ${String(params.limit)} characters` };
    case 'minProperties':
      return { path, message: `${where(path)}must have at least one key` };
    default:
      return { path, message: `${where(path)}${e.message ?? 'is invalid'}` };
  }
}

function patternHint(path: (string | number)[], pattern: string): string {
  const last = path.filter((s) => typeof s === 'string').pop();
  if (last === 'id' || (path.includes('related') && last === 'id')) return 'must be a UUID such as 929a1c4f-3d8a-4b7e-9f5a-2c1d0e6b7a90';
  if (last === 'date' || last === 'modified') return 'must be a date written YYYY-MM-DD';
  if (path[0] === 'tags') return "must be a tag 'namespace.value' in lowercase, such as attack.t1059.001";
  if (last === 'frequency') return 'must be a duration such as 5m, 1h or 1d (a number and one of s, m, h, d), or continuous';
  if (last === 'lookback' || last === 'timeframe' || last === 'timespan')
    return "must be a duration such as 5m, 1h or 1d (a number and one of s, m, h, d)";
  if (last === 'name') return 'must be a name of letters, digits, _, . and -';
  return `must match ${pattern}`;
}
