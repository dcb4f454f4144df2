/**
 * The savedsearches app as Splunk and Splunk ES read it: every file of every generated app against
 * the .conf spec tables of conf-spec.ts, schedules that run at exactly their interval, searches
 * disabled unless --enable, the index setting, and ES notable/risk actions from level and ATT&CK.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { cronFor } from '../../src/targets/spl/artifacts.js';
import { parseQuery } from '../../src/targets/spl/parser.js';
import { appProblems, parseConf } from './conf-spec.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const GOLDEN_APP = new URL('../../golden/spl/sysmon/savedsearches/', import.meta.url).pathname;

function walk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = join(dir, f);
    try {
      out.set(relative(dir, p), readFileSync(p, 'utf8'));
    } catch {
      /* a directory */
    }
  }
  return out;
}

function ruleDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rulec-spl-app-rules-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function app(args: string[], paths = [RULES]): Promise<{ status: number; files: Map<string, string>; err: string[] }> {
  const out = mkdtempSync(join(tmpdir(), 'rulec-spl-app-'));
  const err: string[] = [];
  const status = await main(['build', '--target', 'spl', '--format', 'savedsearches', '--out', out, ...paths, ...args], { out: () => {}, err: (l) => err.push(l), json: () => {} });
  return { status, files: walk(out), err };
}

const stanzas = (files: Map<string, string>) => parseConf(files.get('default/savedsearches.conf')!).stanzas;

const RULE = (extra: string, logsource = '{product: windows, category: process_creation}') => `title: Spread rule
id: 3a5b7c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d
logsource: ${logsource}
${extra}detection:
  sel: {Image|endswith: '\\x.exe'}
  condition: sel
`;

describe('savedsearches app: the .conf spec', () => {
  it('the golden app passes every check', () => {
    expect(appProblems(walk(GOLDEN_APP))).toEqual([]);
  });

  it('the checks find what an app Splunk or ES would not accept', () => {
    const bad = new Map([
      ['default/savedsearches.conf', '[r]\nsearch = x\nenableSched = 1\ncron_schedule = 0 * * *\ndispatch.earliest_time = -1 hour\nalert.severity = 9\naction.correlationsearch.label = r\nschedule_windw = auto\n'],
      ['default/app.conf', '[ui]\nlabel = rc\n'],
      ['metadata/default.meta', '[]\nexport = everyone\n'],
    ]);
    expect(appProblems(bad)).toEqual([
      'savedsearches.conf [r] cron_schedule: "0 * * *" is not a valid value',
      'savedsearches.conf [r] dispatch.earliest_time: "-1 hour" is not a valid value',
      'savedsearches.conf [r] alert.severity: "9" is not a valid value',
      'savedsearches.conf [r] schedule_windw: not a known key',
      'savedsearches.conf [r] disabled: required',
      'savedsearches.conf [r]: a correlation search label without action.correlationsearch.enabled = 1',
      'app.conf [ui] label: "rc" is not a valid value',
      'app.conf [package] id: required',
      'default.meta [] export: "everyone" is not a valid value',
    ]);
  });

  it('every stanza of a built app passes, with --enable, --index and the rules of rules/', async () => {
    const { status, files } = await app(['--enable', '--index', 'wineventlog,sysmon']);
    expect(status).toBe(0);
    expect(appProblems(files)).toEqual([]);
  });
});

describe('savedsearches app: enabling, index, schedules', () => {
  it('searches are disabled unless --enable', async () => {
    const off = await app([]);
    // 15 detection rules and the 5 correlations of rules/correlation/.
    expect(stanzas(off.files).map((s) => s.keys.get('disabled'))).toEqual(Array(20).fill('1'));
    const on = await app(['--enable']);
    expect(stanzas(on.files).map((s) => s.keys.get('disabled'))).toEqual(Array(20).fill('0'));
  });

  it('--index starts every search with the index; a platform or --mapping `index` does too', async () => {
    const one = await app(['--index', 'sysmon']);
    // Before the log source's own narrowing (a Windows channel, the web server sourcetypes, the proxy tag).
    // A correlation's rule searches each start with it, inside its multisearch.
    for (const s of stanzas(one.files)) {
      const search = s.keys.get('search')!;
      const starts = search.startsWith('| multisearch') ? [...search.matchAll(/\[search (.*)/g)].map((m) => m[1]!) : [search];
      for (const x of starts) expect(x).toMatch(/^index="sysmon" (source="XmlWinEventLog:|sourcetype IN |tag=)/);
    }
    const two = await app(['--index', 'a,b']);
    const search = stanzas(two.files)[0]!.keys.get('search')!;
    expect(search).toMatch(/^index IN \("a", "b"\) /);
    expect(() => parseQuery(search.replace(/ \\\n/g, '\n'))).not.toThrow();
    const map = join(ruleDir({}), 'm.yml');
    writeFileSync(map, 'index: [edr]\n');
    const err: string[] = [];
    const out: string[] = [];
    expect(await main(['build', '--target', 'spl', join(RULES, 'windows/proc_creation_win_recon_command.yml'), '-m', map], { out: (l) => out.push(l), err: (l) => err.push(l), json: () => {} })).toBe(0);
    // out[0] is the comment naming the rule.
    expect(out[1]).toMatch(/^index="edr" source=/);
  });

  it('--index on a data model platform fails the rule with the reason; on kusto it is a usage error', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l), json: () => {} };
    expect(await main(['build', '--target', 'spl', '--platform', 'cim', '--index', 'main', join(RULES, 'windows/proc_creation_win_recon_command.yml')], io)).toBe(1);
    expect(err[0]).toContain("skipped (mapping): an index cannot narrow the data model search Endpoint.Processes: the data model's constraints choose its indexes");
    expect(await main(['build', '--target', 'kusto', '--index', 'main', RULES], io)).toBe(2);
    expect(err.at(-1)).toBe('rulec: --index does not apply to target kusto');
  });

  it('rules of one frequency start at different minutes, the same from build to build', async () => {
    const a = stanzas((await app([])).files).map((s) => s.keys.get('cron_schedule'));
    const b = stanzas((await app([])).files).map((s) => s.keys.get('cron_schedule'));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(4);
    for (const s of stanzas((await app([])).files)) expect(s.keys.get('schedule_window')).toBe('auto');
  });

  it('a spread cron still runs at exactly the frequency, for every offset', () => {
    // The minutes of one week at which a cron runs.
    const runs = (cron: string): number[] => {
      const allowed = (f: string, hi: number): Set<number> => {
        const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(f)!;
        const lo = m[1] === '*' ? 0 : Number(m[2]);
        const top = m[3] !== undefined ? Number(m[3]) : m[1] === '*' || m[4] !== undefined ? hi : lo;
        const out = new Set<number>();
        for (let v = lo; v <= top; v += Number(m[4] ?? 1)) out.add(v);
        return out;
      };
      const [mi, ho, , , dw] = cron.split(' ');
      const [ms, hs, ds] = [allowed(mi!, 59), allowed(ho!, 23), allowed(dw!, 6)];
      const out: number[] = [];
      for (let t = 0; t < 7 * 1440; t++) if (ms.has(t % 60) && hs.has(Math.floor(t / 60) % 24) && ds.has(Math.floor(t / 1440))) out.push(t);
      return out;
    };
    for (const [freq, n] of [['1m', 1], ['5m', 5], ['15m', 15], ['30m', 30], ['1h', 60], ['2h', 120], ['6h', 360], ['12h', 720], ['1d', 1440], ['7d', 10080]] as const) {
      for (const seed of [0, 1, 7, 59, 61, 1234, 99991, 2 ** 31 + 17]) {
        const r = runs(cronFor(freq, seed));
        expect(r.length, `${freq} seed ${seed}: ${cronFor(freq, seed)}`).toBe((7 * 1440) / n);
        // Consecutive runs (wrapping the week) are n minutes apart.
        for (let i = 0; i < r.length; i++) expect((r[(i + 1) % r.length]! - r[i]! + 7 * 1440) % (7 * 1440) || 7 * 1440).toBe(n);
      }
    }
    expect(cronFor('15m', 7)).toBe('7-59/15 * * * *');
  });
});

describe('savedsearches app: Splunk ES', () => {
  it('notable and risk actions from the level, annotations from ATT&CK, a security domain from the log source', async () => {
    const dir = ruleDir({ 'r.yml': RULE('level: high\ntags: [attack.execution, attack.t1059.001, attack.t1086]\n') });
    const { status, files, err } = await app([], [dir]);
    expect(status).toBe(0);
    const s = stanzas(files)[0]!.keys;
    expect(Object.fromEntries([...s].filter(([k]) => k.startsWith('action.') || k.startsWith('alert.')))).toEqual({
      'alert.track': '1',
      'alert.severity': '5',
      'action.correlationsearch.enabled': '1',
      'action.correlationsearch.label': 'Spread rule',
      'action.correlationsearch.annotations': '{"mitre_attack":["T1059.001"]}',
      'action.notable': '1',
      'action.notable.param.rule_title': 'Spread rule',
      'action.notable.param.rule_description': 'Spread rule',
      'action.notable.param.security_domain': 'endpoint',
      'action.notable.param.severity': 'high',
      'action.risk': '1',
      'action.risk.param._risk': '[{"risk_object_field":"host","risk_object_type":"system","risk_score":75}]',
      'action.risk.param._risk_message': 'Spread rule',
      'action.risk.param._risk_score': '0',
      'action.risk.param.verbose': '0',
    });
    expect(err).toContain(`${join(dir, 'r.yml')}: note: savedsearches annotations: ATT&CK T1086 is revoked (now T1059.001); it is left out`);
  });

  it('a description ending in a backslash loses it (it would continue into the next key), with a note', async () => {
    const dir = ruleDir({ 'r.yml': RULE("description: 'copies the file to c:\\windows\\system32\\'\n") });
    const { files, err } = await app([], [dir]);
    expect(appProblems(files)).toEqual([]);
    expect(stanzas(files)[0]!.keys.get('description')).toBe('copies the file to c:\\windows\\system32');
    expect(err).toContain(`${join(dir, 'r.yml')}: note: savedsearches: the description ends with a backslash, which .conf files read as a line continuation; it is dropped`);
  });

  it('a --mapping file sets the app id and the risk object', async () => {
    const map = join(ruleDir({}), 'm.yml');
    writeFileSync(map, 'savedsearches: {app: {id: soc_detections, version: 2.1.0}, risk_object: {field: dest, type: system}}\n');
    const { files } = await app(['-m', map], [ruleDir({ 'r.yml': RULE('') })]);
    expect(appProblems(files)).toEqual([]);
    expect(files.get('default/app.conf')).toContain('[package]\nid = soc_detections\n');
    expect(stanzas(files)[0]!.keys.get('action.risk.param._risk')).toBe('[{"risk_object_field":"dest","risk_object_type":"system","risk_score":50}]');
  });

  it('schedule.spl overrides the schedule; continuous is refused', async () => {
    const { files } = await app([], [ruleDir({ 'r.yml': RULE('schedule: {frequency: 1h, spl: {frequency: 15m, lookback: 20m}}\n') })]);
    expect(stanzas(files)[0]!.keys.get('cron_schedule')).toMatch(/^\d+-59\/15 \* \* \* \*$|^\*\/15 \* \* \* \*$/);
    expect(stanzas(files)[0]!.keys.get('dispatch.earliest_time')).toBe('-20m');
    const r = await app([], [ruleDir({ 'r.yml': RULE('schedule: {frequency: continuous}\n') })]);
    expect(r.err[0]).toContain('skipped (unsupported): schedule.frequency continuous: Splunk runs rules at an interval');
  });
});
