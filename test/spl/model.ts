/**
 * Test-only: a fixture event (Sigma field names, JSON) as a Splunk platform holds it, per the
 * model in docs/targets/spl.md:
 *
 * - every key becomes a Splunk field named by the log source's mapping (where the mapping says
 *   `unknown_fields: clean`, named as Splunk's key cleaning names it: each character outside
 *   letters, digits, `_`, `.`, `:` is `_`, leading `_` and digits dropped; kept as is for `as-is`,
 *   dropped for `error`: a data model has no such field); nested objects become dotted names, as
 *   Splunk's JSON extraction names them;
 * - values become texts: a string as is, a number by its shortest decimal, a boolean as
 *   `true`/`false`, an array as a multivalue field; empty values (null, "", []) are not extracted;
 * - a field the platform types as a number (`numeric` in the mapping, the platform's or the log
 *   source's) holds canonical decimals;
 * - the log source's prefix fields (source, EventCode ...) hold a value that satisfies the prefix;
 * - `_raw` is the event as JSON, as the Windows XML rendering, as a W3C log line, or as its only
 *   text value, per the log source's `raw` format.
 */
import type { PlatformMapping, SourceEntry } from '../../src/targets/spl/mapping.js';
import type { SplunkEvent } from './interpret.js';

type Json = Record<string, unknown>;

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

function scalarTexts(v: unknown): string[] {
  if (v === null || v === undefined || v === '') return [];
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(scalarTexts);
  return [];
}

/** Flatten nested objects into dotted names (arrays of objects have no dotted name here). */
function flatten(ev: Json, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(ev)) {
    const name = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Json, `${name}.`, out);
    else out.set(name, v);
  }
  return out;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');
}

const SYSTEM_ELEMENTS = ['EventID', 'Version', 'Level', 'Task', 'Opcode', 'Keywords', 'EventRecordID', 'Channel', 'Computer'];
const SYSTEM_ATTRIBUTES: Record<string, [string, string]> = {
  Provider_Name: ['Provider', 'Name'],
  Provider_Guid: ['Provider', 'Guid'],
  TimeCreated_SystemTime: ['TimeCreated', 'SystemTime'],
  Execution_ProcessID: ['Execution', 'ProcessID'],
  Execution_ThreadID: ['Execution', 'ThreadID'],
  Security_UserID: ['Security', 'UserID'],
  Correlation_ActivityID: ['Correlation', 'ActivityID'],
};

/** The event as XmlWinEventLog renders it: System elements and attributes, the rest as <Data Name='...'>. */
export function windowsXml(ev: Json): string {
  const flat = flatten(ev);
  const attrs = new Map<string, string[]>();
  let system = '';
  let data = '';
  for (const [k, v] of flat) {
    const texts = scalarTexts(v);
    const attr = SYSTEM_ATTRIBUTES[k];
    if (attr && texts.length <= 1) {
      const list = attrs.get(attr[0]) ?? [];
      if (texts.length) list.push(`${attr[1]}='${xmlAttr(texts[0]!)}'`);
      attrs.set(attr[0], list);
    } else if (SYSTEM_ELEMENTS.includes(k) && texts.length <= 1) {
      system += texts.length ? `<${k}>${xmlText(texts[0]!)}</${k}>` : `<${k}/>`;
    } else if (v === '' || (Array.isArray(v) && v.length === 0)) {
      data += `<Data Name='${xmlAttr(k)}'></Data>`;
    } else {
      for (const t of texts) data += `<Data Name='${xmlAttr(k)}'>${xmlText(t)}</Data>`;
    }
  }
  for (const [el, list] of attrs) system = `<${el}${list.map((a) => ' ' + a).join('')}/>` + system;
  return `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>${system}</System><EventData>${data}</EventData></Event>`;
}

/** Splunk's CLEAN_KEYS, written here from its documentation rather than taken from the target. */
function splunkKey(key: string): string {
  let out = '';
  for (const ch of key) out += /^[A-Za-z0-9_.:]$/.test(ch) ? ch : '_';
  let start = 0;
  while (start < out.length && /[_0-9]/.test(out[start]!)) start++;
  return out.slice(start);
}

function fieldName(entry: SourceEntry, key: string): string | undefined {
  const mapped = entry.fields[key];
  if (mapped !== undefined) return mapped;
  if (entry.unknownFields === 'clean') return splunkKey(key) || undefined;
  return entry.unknownFields === 'as-is' ? key : undefined;
}

/**
 * A W3C extended log line: every value in order, one space between, `-` for an empty field. A W3C
 * writer never puts a space in a value (IIS writes `+`) and writes `-` only for an empty one, so
 * an event that has either cannot come from such a log.
 */
function w3cRaw(ev: Json): string {
  const tokens: string[] = [];
  for (const [k, v] of flatten(ev)) {
    const texts = scalarTexts(v);
    for (const t of texts) if (t.includes(' ') || t === '-') throw new Error(`a W3C log line cannot hold the value ${JSON.stringify(t)} of ${k}`);
    tokens.push(...(texts.length ? texts : ['-']));
  }
  return tokens.join(' ');
}

/** A text log line: the event's one value. */
function textRaw(ev: Json): string {
  const values = [...flatten(ev).values()].flatMap(scalarTexts);
  if (values.length !== 1) throw new Error(`a text log source's event has exactly one value (its line); this one has ${values.length}`);
  return values[0]!;
}

export function splunkEvent(ev: Json, pm: PlatformMapping, entry: SourceEntry): SplunkEvent {
  const fields = new Map<string, string[]>();
  for (const [k, v] of flatten(ev)) {
    const name = fieldName(entry, k);
    if (name === undefined) continue;
    let texts = scalarTexts(v);
    if (entry.numeric.has(name)) texts = texts.map((t) => (DECIMAL.test(t) ? String(Number(t)) : t));
    if (texts.length) fields.set(name, [...(fields.get(name) ?? []), ...texts]);
  }
  for (const t of entry.prefix) {
    const allowed = t.values.map(String);
    const have = fields.get(t.field);
    if (!have || !have.some((x) => allowed.includes(x))) fields.set(t.field, [allowed[0]!]);
  }
  switch (entry.raw) {
    case 'json':
      return { fields, raw: JSON.stringify(ev) };
    case 'xml':
      return { fields, raw: windowsXml(ev) };
    case 'w3c':
      return {
        fields,
        get raw() {
          return w3cRaw(ev);
        },
      };
    case 'text':
      // Only a keyword reads _raw; a text log source's event of several fields (a W3C line) has no
      // one-value rendering in this model, so it is only an error when a query reads it.
      return {
        fields,
        get raw() {
          return textRaw(ev);
        },
      };
    case 'none':
      return { fields, raw: '' };
  }
}
