/**
 * Test-only: a fixture event (Sigma field names, JSON) as a Splunk platform holds it, per the
 * model in docs/targets/spl.md:
 *
 * - every key becomes a Splunk field named by the log source's mapping (kept as is where the
 *   mapping says `unknown_fields: as-is`, dropped where it says `error`: a data model has no such
 *   field); nested objects become dotted names, as Splunk's JSON extraction names them;
 * - values become texts: a string as is, a number by its shortest decimal, a boolean as
 *   `true`/`false`, an array as a multivalue field; empty values (null, "", []) are not extracted;
 * - a field the platform types as a number (`numeric` in the mapping) holds canonical decimals;
 * - the log source's prefix fields (source, EventCode ...) hold a value that satisfies the prefix;
 * - `_raw` is the event as JSON, as the Windows XML rendering, or as its only text value, per the
 *   log source's `raw` format.
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

/** A text log line: the event's one value. */
function textRaw(ev: Json): string {
  const values = [...flatten(ev).values()].flatMap(scalarTexts);
  if (values.length !== 1) throw new Error(`a text log source's event has exactly one value (its line); this one has ${values.length}`);
  return values[0]!;
}

export function splunkEvent(ev: Json, pm: PlatformMapping, entry: SourceEntry): SplunkEvent {
  const fields = new Map<string, string[]>();
  for (const [k, v] of flatten(ev)) {
    const name = entry.fields[k] ?? (entry.unknownFields === 'as-is' ? k : undefined);
    if (name === undefined) continue;
    let texts = scalarTexts(v);
    if (pm.numeric.has(name)) texts = texts.map((t) => (DECIMAL.test(t) ? String(Number(t)) : t));
    if (texts.length) fields.set(name, [...(fields.get(name) ?? []), ...texts]);
  }
  for (const t of entry.prefix) {
    const allowed = t.values.map(String);
    const have = fields.get(t.field);
    if (!have || !have.some((x) => allowed.includes(x))) fields.set(t.field, [allowed[0]!]);
  }
  let raw: string;
  switch (entry.raw) {
    case 'json':
      raw = JSON.stringify(ev);
      break;
    case 'xml':
      raw = windowsXml(ev);
      break;
    case 'text':
      raw = textRaw(ev);
      break;
    case 'none':
      raw = '';
      break;
  }
  return { fields, raw };
}
