/**
 * Event shapes: what a scanned JSON object looks like to rules. Two shapes are recognised:
 *
 * - **flat**: a JSON object whose keys are Sigma field names (`Image`, `CommandLine`, nested
 *   objects reached by dotted paths). Taken as it is.
 * - **windows**: Windows event JSON as evtx_dump writes it, `{"Event": {"System": {..},
 *   "EventData": {..}}}`. It is flattened once, so that rules see Sigma's Windows names
 *   (target-semantics.md 6.1, the same reading as Hayabusa and SigmaHQ's regression checker):
 *   - a System element with a value is that value (`EventID`, `Channel`, `Computer`); with
 *     `#text` the text (`EventID: {"#text": 4688, "#attributes": {"Qualifiers": 0}}` -> `EventID`);
 *   - attribute `Y` of System element `X` is `X_Y` (`Provider_Name`, `Execution_ProcessID`,
 *     `TimeCreated_SystemTime`, `Security_UserID`);
 *   - EventData entries by name, whether written `{"Name": value}`, `{"Name": {"#text": v}}`,
 *     or as a list of `Data` elements `{"Name": n, "#text": v}` / `{"#attributes": {"Name": n},
 *     "#text": v}` (also under `{"Data": [...]}`); unnamed data is `Data` (a list when several);
 *   - UserData: the children of its wrapper element, by name;
 *   - System names win over EventData and UserData names on a collision (rules read `Channel`
 *     and `EventID` from System), and other top-level keys beside `Event` are kept;
 *   - an EventData or UserData name with spaces is also the name without them, and the name with
 *     `_` for each space (Defender's `Threat Name` is also `ThreatName`, as Sigma rules name it,
 *     and `Threat_Name`, as Splunk does), unless a field holds that name already: an exact name
 *     always wins, and of two spaced names that give the same name, the first in the event does
 *     (as the first of two equal names does).
 */
import { EventView, hasOwn, type FieldMap, type JsonObject } from './event.js';

export type ShapeName = 'flat' | 'windows';

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Which shape an event has. */
export function shapeOf(raw: JsonObject): ShapeName {
  const ev = raw.Event;
  return isObject(ev) && isObject(ev.System) ? 'windows' : 'flat';
}

/** The event as rules see it (a new object for Windows events, `raw` itself for flat ones). */
export function flattenEvent(raw: JsonObject): JsonObject {
  return shapeOf(raw) === 'windows' ? Object.fromEntries(eventFields(raw)) : raw;
}

/**
 * The view rules match an event through: a Windows event's flattened fields, a flat event itself.
 * Generated TypeScript modules (which inline this file) take events through it too.
 */
export function viewOf(raw: JsonObject): EventView {
  return new EventView(shapeOf(raw) === 'windows' ? eventFields(raw) : raw);
}

/**
 * The fields of an event as rules see them, in event order: a new map the caller may change. The
 * engine works on this rather than on flattenEvent's object: an object given 30-odd properties by
 * computed name falls into V8's dictionary mode, slower to build and to walk than a Map.
 */
export function eventFields(raw: JsonObject): FieldMap {
  const out: FieldMap = new Map();
  const ev = raw.Event;
  if (!isObject(ev) || !isObject(ev.System)) {
    // Own keys only, as field lookup on the object reads them.
    for (const k in raw) if (hasOwn.call(raw, k)) out.set(k, raw[k]);
    return out;
  }
  // In case a caller's object threw in the middle of the last event (reading first: setting an
  // array's length is a slow path, and this runs for every event).
  if (spaced.length !== 0) spaced.length = 0;
  flattenSystem(ev.System, out);
  flattenEventData(ev.EventData, out);
  flattenUserData(ev.UserData, out);
  for (const k in raw) if (k !== 'Event') put(out, k, raw[k]);
  // Last, so that every exact name is in place before a space-less one could take it.
  if (spaced.length > 0) addSpacelessNames(out);
  return out;
}

/** Sets a field unless an earlier (System) value holds the name. */
function put(out: FieldMap, name: string, value: unknown): void {
  if (!out.has(name)) out.set(name, value);
}

/**
 * The EventData and UserData names with a space set while flattening the current event (scratch,
 * emptied by addSpacelessNames; flattening is synchronous). Names without spaces, nearly all of
 * them, cost one indexOf.
 */
const spaced: string[] = [];

/** put() for an EventData or UserData name, remembering it if it has a space. */
function putData(out: FieldMap, name: string, value: unknown): void {
  if (out.has(name)) return;
  out.set(name, value);
  if (name.indexOf(' ') >= 0) spaced.push(name);
}

function addSpacelessNames(out: FieldMap): void {
  for (const name of spaced) {
    const words = name.split(' '); // not replaceAll: generated modules keep to the ES2019 library
    const value = out.get(name);
    const bare = words.join('');
    if (bare !== '') put(out, bare, value);
    // Splunk's spelling, which SigmaHQ rules also use (Defender's `Feature Name` as Feature_Name).
    put(out, words.join('_'), value);
  }
  spaced.length = 0;
}

/** `#text` of an XML element rendered as JSON, or the value itself when it is not an element. */
function textOf(v: unknown): unknown {
  if (isObject(v)) {
    if (hasOwn.call(v, '#text')) return v['#text'];
    // An element with attributes only (or nothing) has no text.
    if (Object.keys(v).every((k) => k.startsWith('#') || k.startsWith('@'))) return null;
  }
  return v;
}

/** `X_Y` names, kept so that every event does not build the same strings again. */
const joinedNames = new Map<string, Map<string, string>>();

function joined(element: string, attr: string): string {
  let byAttr = joinedNames.get(element);
  if (!byAttr) {
    // Hostile input could invent names without end: stop remembering past a bound.
    if (joinedNames.size >= 1024) return `${element}_${attr}`;
    joinedNames.set(element, (byAttr = new Map()));
  }
  let name = byAttr.get(attr);
  if (name === undefined) {
    name = `${element}_${attr}`;
    if (byAttr.size < 256) byAttr.set(attr, name);
  }
  return name;
}

function flattenSystem(system: JsonObject, out: FieldMap): void {
  for (const name in system) {
    const v = system[name];
    if (!isObject(v)) {
      out.set(name, v);
      continue;
    }
    for (const k in v) {
      const child = v[k];
      if (k === '#text') out.set(name, child);
      else if (k === '#attributes') {
        if (isObject(child)) for (const attr in child) out.set(joined(name, attr), child[attr]);
      } else if (k.charCodeAt(0) === 0x40 /* @ */) out.set(joined(name, k.slice(1)), child);
      else if (k.charCodeAt(0) !== 0x23 /* # */) out.set(joined(name, k), textOf(child));
    }
  }
}

/** The name of a `Data` element: `Name`, `@Name` or `#attributes.Name`. */
function dataName(item: JsonObject): string | undefined {
  const attrs = item['#attributes'];
  const n = isObject(attrs) ? attrs.Name : (item.Name ?? item['@Name']);
  return typeof n === 'string' ? n : undefined;
}

function fromDataList(items: readonly unknown[], out: FieldMap, unnamed: unknown[]): void {
  for (const item of items) {
    if (isObject(item)) {
      const name = dataName(item);
      const text = hasOwn.call(item, '#text') ? item['#text'] : null;
      if (name !== undefined) putData(out, name, text);
      else unnamed.push(text);
    } else unnamed.push(item);
  }
}

function flattenEventData(data: unknown, out: FieldMap): void {
  if (data === null || data === undefined) return;
  const unnamed: unknown[] = [];
  if (Array.isArray(data)) fromDataList(data, out, unnamed);
  else if (isObject(data)) {
    for (const name in data) {
      const v = data[name];
      if (name === '#attributes') continue;
      if (typeof v !== 'object' || v === null) {
        if (name === '#text') unnamed.push(v);
        else putData(out, name, v);
      } else if (name === 'Data' && (Array.isArray(v) || dataName(v as JsonObject) !== undefined)) {
        fromDataList(Array.isArray(v) ? v : [v], out, unnamed);
      } else if (name === '#text' || (name === 'Data' && isObject(v))) {
        const t = textOf(v);
        if (Array.isArray(t)) unnamed.push(...(t as unknown[]));
        else unnamed.push(t);
      } else putData(out, name, textOf(v));
    }
  } else unnamed.push(data);
  if (unnamed.length > 0) put(out, 'Data', unnamed.length === 1 ? unnamed[0] : unnamed);
}

function flattenUserData(data: unknown, out: FieldMap): void {
  if (!isObject(data)) return;
  for (const wrapper in data) {
    const v = data[wrapper];
    if (wrapper.charCodeAt(0) === 0x23) continue;
    if (!isObject(v)) {
      putData(out, wrapper, v);
      continue;
    }
    for (const name in v) {
      const c = name.charCodeAt(0);
      if (c !== 0x23 && c !== 0x40) putData(out, name, textOf(v[name]));
    }
  }
}
