/**
 * Splunk .conf files as Splunk reads them, and the keys a rulec app may set with their value types:
 * savedsearches.conf.spec (Splunk Enterprise 10.0 configuration file reference), the Splunk ES
 * correlation search, notable and risk alert actions, app.conf.spec and default.meta.spec. A key
 * the tables do not know, or a value not of its type, is a problem naming the file, stanza and key.
 */

export interface Stanza {
  name: string;
  keys: Map<string, string>;
}

/** `[stanza]` headers, `key = value` lines, values continued by a trailing backslash, `#` comments. */
export function parseConf(text: string): { stanzas: Stanza[]; problems: string[] } {
  const stanzas: Stanza[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  let current: Stanza | undefined;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const header = /^\[(.*)\]\s*$/.exec(line);
    if (header) {
      current = { name: header[1]!, keys: new Map() };
      if (stanzas.some((s) => s.name === current!.name)) problems.push(`line ${i + 1}: stanza [${current.name}] repeated`);
      stanzas.push(current);
      continue;
    }
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + '\n' + lines[++i]!;
    const kv = /^([^=\s][^=]*?)\s*=\s?(.*)$/s.exec(line);
    if (!kv || !current) {
      problems.push(`line ${i + 1}: not a key = value line inside a stanza: ${JSON.stringify(line.slice(0, 60))}`);
      continue;
    }
    if (current.keys.has(kv[1]!)) problems.push(`[${current.name}] ${kv[1]}: set twice`);
    current.keys.set(kv[1]!, kv[2]!);
  }
  return { stanzas, problems };
}

type Check = (v: string) => boolean;
const bool: Check = (v) => /^(0|1|true|false)$/i.test(v);
const int: Check = (v) => /^\d+$/.test(v);
const text: Check = (v) => v.trim() !== '' && !v.includes('\n');
const oneOf = (...vs: string[]): Check => (v) => vs.includes(v);
const range = (lo: number, hi: number): Check => (v) => int(v) && Number(v) >= lo && Number(v) <= hi;
/** Splunk time modifiers: `now`, `-1h`, `-15m@m`, `+1d@d`, `0`. */
const time: Check = (v) => /^(now|0|[+-]?\d+(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks|mon|q|y)(@[a-z0-9]+)?)$/.test(v);
function cronField(f: string, lo: number, hi: number): boolean {
  return f.split(',').every((part) => {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return false;
    const nums = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
    if (nums.some((n) => n < lo || n > hi)) return false;
    if (nums.length === 2 && nums[0]! > nums[1]!) return false;
    return m[4] === undefined || Number(m[4]) >= 1;
  });
}
const cron: Check = (v) => {
  const f = v.split(' ');
  const bounds: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];
  return f.length === 5 && f.every((x, i) => cronField(x, ...bounds[i]!));
};
const json = (ok: (x: unknown) => boolean): Check => (v) => {
  try {
    return ok(JSON.parse(v));
  } catch {
    return false;
  }
};

/** savedsearches.conf.spec keys rulec writes or may write, and the ES correlation search keys. */
export const SAVEDSEARCHES: Record<string, Check> = {
  search: (v) => v.trim() !== '',
  description: text,
  disabled: bool,
  enableSched: bool,
  cron_schedule: cron,
  schedule_window: (v) => v === 'auto' || int(v),
  schedule_priority: oneOf('default', 'higher', 'highest'),
  'dispatch.earliest_time': time,
  'dispatch.latest_time': time,
  counttype: oneOf('number of events', 'number of hosts', 'number of sources', 'custom', 'always'),
  relation: oneOf('greater than', 'less than', 'equal to', 'not equal to', 'drops by', 'rises by'),
  quantity: int,
  'alert.track': bool,
  'alert.severity': range(1, 6),
  'alert.suppress': bool,
  'alert.digest_mode': bool,
  actions: (v) => /^[\w.-]+(\s*,\s*[\w.-]+)*$/.test(v),
  // Splunk ES (SA-ThreatIntelligence / SA-Utils alert actions, correlation search metadata).
  'action.correlationsearch.enabled': bool,
  'action.correlationsearch.label': text,
  'action.correlationsearch.annotations': json((x) => typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every(Array.isArray)),
  'action.notable': bool,
  'action.notable.param.rule_title': text,
  'action.notable.param.rule_description': text,
  'action.notable.param.security_domain': oneOf('access', 'endpoint', 'network', 'threat', 'identity', 'audit'),
  'action.notable.param.severity': oneOf('informational', 'low', 'medium', 'high', 'critical', 'unknown'),
  'action.risk': bool,
  'action.risk.param._risk': json(
    (x) =>
      Array.isArray(x) &&
      x.length > 0 &&
      x.every((r) => typeof r.risk_object_field === 'string' && ['system', 'user', 'other'].includes(r.risk_object_type) && Number.isInteger(r.risk_score) && r.risk_score >= 0),
  ),
  'action.risk.param._risk_message': text,
  'action.risk.param._risk_score': int,
  'action.risk.param.verbose': bool,
};

export const APP_CONF: Record<string, Record<string, Check>> = {
  install: { is_configured: bool, build: int, state: oneOf('enabled', 'disabled') },
  package: { id: (v) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v), check_for_updates: bool },
  id: { name: (v) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v), version: (v) => /^\d+\.\d+\.\d+$/.test(v) },
  // app.conf.spec: label "must be between 5 and 80 characters".
  ui: { is_visible: bool, label: (v) => v.length >= 5 && v.length <= 80 },
  launcher: { author: text, description: text, version: (v) => /^\d+\.\d+\.\d+$/.test(v) },
};

export const DEFAULT_META: Record<string, Check> = {
  access: (v) => /^(read|write) : \[ [^\]]+ \](, (read|write) : \[ [^\]]+ \])?$/.test(v),
  export: oneOf('none', 'system'),
  owner: text,
};

function checkKeys(file: string, s: Stanza, table: Record<string, Check>): string[] {
  const out: string[] = [];
  for (const [k, v] of s.keys) {
    const check = table[k];
    if (!check) out.push(`${file} [${s.name}] ${k}: not a known key`);
    else if (!check(v)) out.push(`${file} [${s.name}] ${k}: ${JSON.stringify(v.slice(0, 80))} is not a valid value`);
  }
  return out;
}

/** Every problem of a generated app folder: its three files, keyed by path. */
export function appProblems(files: Map<string, string>): string[] {
  const out: string[] = [];
  const ss = files.get('default/savedsearches.conf');
  const app = files.get('default/app.conf');
  const meta = files.get('metadata/default.meta');
  if (!ss || !app || !meta) return ['the app needs default/savedsearches.conf, default/app.conf and metadata/default.meta'];

  const s = parseConf(ss);
  out.push(...s.problems.map((p) => `savedsearches.conf ${p}`));
  const labels = new Set<string>();
  for (const st of s.stanzas) {
    out.push(...checkKeys('savedsearches.conf', st, SAVEDSEARCHES));
    const has = (k: string): boolean => st.keys.has(k);
    for (const k of ['search', 'dispatch.earliest_time', 'disabled']) if (!has(k)) out.push(`savedsearches.conf [${st.name}] ${k}: required`);
    if (st.keys.get('enableSched') === '1' && !has('cron_schedule')) out.push(`savedsearches.conf [${st.name}] cron_schedule: required by enableSched = 1`);
    if (has('action.correlationsearch.label') && st.keys.get('action.correlationsearch.enabled') !== '1') out.push(`savedsearches.conf [${st.name}]: a correlation search label without action.correlationsearch.enabled = 1`);
    if (has('action.correlationsearch.enabled') && !(st.keys.get('action.notable') === '1' || st.keys.get('action.risk') === '1')) out.push(`savedsearches.conf [${st.name}]: a correlation search with neither a notable nor a risk action`);
    const label = st.keys.get('action.correlationsearch.label');
    if (label) {
      if (labels.has(label)) out.push(`savedsearches.conf [${st.name}] action.correlationsearch.label: '${label}' repeated`);
      labels.add(label);
    }
    if (/[[\]]/.test(st.name)) out.push(`savedsearches.conf [${st.name}]: brackets in a stanza name`);
  }

  const a = parseConf(app);
  out.push(...a.problems.map((p) => `app.conf ${p}`));
  for (const st of a.stanzas) {
    const table = APP_CONF[st.name];
    if (!table) out.push(`app.conf [${st.name}]: not a known stanza`);
    else out.push(...checkKeys('app.conf', st, table));
  }
  const get = (stanza: string, key: string): string | undefined => a.stanzas.find((x) => x.name === stanza)?.keys.get(key);
  if (!get('package', 'id')) out.push('app.conf [package] id: required');
  if (get('id', 'name') !== undefined && get('id', 'name') !== get('package', 'id')) out.push('app.conf: [id] name differs from [package] id');
  if (get('launcher', 'version') !== undefined && get('id', 'version') !== undefined && get('launcher', 'version') !== get('id', 'version')) out.push('app.conf: [launcher] version differs from [id] version');

  const m = parseConf(meta);
  out.push(...m.problems.map((p) => `default.meta ${p}`));
  for (const st of m.stanzas) out.push(...checkKeys('default.meta', st, DEFAULT_META));
  return out;
}
