import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { kustoMapping } from '../../src/targets/kusto/mapping.js';
import { KustoAnalyzer } from '../../src/targets/kusto/validate.js';
import { main } from '../../src/cli/main.js';
import { armProblems } from './arm.js';
import { compile, PROC, rule } from './helpers.js';

const SEED = new URL('../../rules/seed/custom_script_extension_executable_drop.yml', import.meta.url).pathname;
const TACTICS = ['Reconnaissance', 'ResourceDevelopment', 'InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion', 'CredentialAccess', 'Discovery', 'LateralMovement', 'Collection', 'CommandAndControl', 'Exfiltration', 'Impact'];

async function build(args: string[]): Promise<{ status: number; rows: Record<string, unknown>[]; err: string[] }> {
  const rows: Record<string, unknown>[] = [];
  const err: string[] = [];
  const status = await main(['build', '--target', 'kusto', '--json', ...args], { out: () => {}, err: (l) => err.push(l), json: (o) => rows.push(o as Record<string, unknown>) });
  return { status, rows, err };
}

const withSchedule = (schedule: string, tags = '') =>
  rule(PROC, "sel:\n  Image|endswith: '\\x.exe'\ncondition: sel", `${tags}level: critical\nschedule: {${schedule}}\n`);

/** The vendor constraints of target-semantics.md section 4 on what the artifact formats emit. */
describe('Sentinel analytic rule YAML', () => {
  it('carries the required fields within their limits', async () => {
    const { rows } = await build(['--format', 'sentinel-yaml', SEED]);
    const y = parseYaml(rows[0]!.output as string);
    expect(Object.keys(y)).toEqual(expect.arrayContaining(['id', 'name', 'description', 'severity', 'requiredDataConnectors', 'queryFrequency', 'queryPeriod', 'triggerOperator', 'triggerThreshold', 'query', 'version', 'kind']));
    expect(y.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(y.kind).toBe('Scheduled');
    expect(['Informational', 'Low', 'Medium', 'High']).toContain(y.severity);
    expect(y.query).toBe(rows[0]!.query);
    expect([y.queryFrequency, y.queryPeriod]).toEqual(['1h', '1h']);
    expect(y.requiredDataConnectors).toEqual([{ connectorId: 'MicrosoftThreatProtection', dataTypes: ['DeviceFileEvents'] }]);
    for (const t of y.tactics) expect(TACTICS).toContain(t);
    expect(y.relevantTechniques).toEqual(['T1651', 'T1021.008']);
    expect(y.entityMappings.length).toBeGreaterThan(0);
    expect(y.entityMappings.length).toBeLessThanOrEqual(5);
    for (const e of y.entityMappings) {
      expect(e.fieldMappings.length).toBeGreaterThanOrEqual(1);
      expect(e.fieldMappings.length).toBeLessThanOrEqual(3);
      for (const f of e.fieldMappings) expect(f.columnName).toMatch(/^[a-zA-Z_]+\w*$/);
    }
    expect(y.customDetails).toEqual({ FileType: 'FileType' });
  });

  it('entity and custom-detail columns exist in the analyzed result of the query', async () => {
    const { rows } = await build(['--format', 'sentinel-yaml', SEED]);
    const y = parseYaml(rows[0]!.output as string);
    const m = kustoMapping(loadPlatformMapping('kusto', 'sentinel'), 'sentinel');
    const cols = new KustoAnalyzer(new Map([['DeviceFileEvents', m.tables.get('DeviceFileEvents')!]])).resultColumns(y.query);
    for (const e of y.entityMappings) expect(cols.has(e.fieldMappings[0].columnName)).toBe(true);
    for (const c of Object.values(y.customDetails)) expect(cols.has(c as string)).toBe(true);
  }, 60_000);

  it('schedules outside Sentinel limits fail the rule with the limit', () => {
    const err = (s: string) => {
      const r = compile(withSchedule(s), 'sentinel', 'sentinel-yaml');
      return r.ok ? '' : r.error;
    };
    expect(err('frequency: 1m, lookback: 1m')).toBe('sentinel-yaml: queryFrequency 1m is outside Sentinel\'s 5m..14d');
    expect(err('frequency: 1h, lookback: 15d')).toBe('sentinel-yaml: queryPeriod 15d is outside Sentinel\'s 5m..14d');
    expect(err('frequency: 30m, lookback: 3d')).toBe('sentinel-yaml: a queryPeriod of 2d or more (3d) needs a queryFrequency of at least 1h (30m)');
    expect(err('frequency: 1h, lookback: 3d')).toBe('');
  });

  it('reports the approximations it makes (critical -> High)', () => {
    const r = compile(withSchedule('frequency: 1h, lookback: 1h'), 'sentinel', 'sentinel-yaml');
    expect(r.ok && r.notes).toEqual(['sentinel-yaml: level critical becomes severity High (the highest Microsoft offers)']);
    expect(r.ok && parseYaml(r.output).severity).toBe('High');
  });
});

describe('Sentinel ARM template', () => {
  it('is a deployable scheduled alert rule with ISO 8601 durations and parent techniques', async () => {
    const { rows } = await build(['--format', 'sentinel-arm', SEED]);
    const t = JSON.parse(rows[0]!.output as string);
    const res = t.resources[0];
    expect(res.type).toBe('Microsoft.OperationalInsights/workspaces/providers/alertRules');
    expect(res.kind).toBe('Scheduled');
    expect(res.name).toBe("[concat(parameters('workspace'),'/Microsoft.SecurityInsights/0d6fee06-3ad6-4edc-aea7-c68093370229')]");
    const p = res.properties;
    for (const k of ['displayName', 'enabled', 'suppressionDuration', 'suppressionEnabled', 'query', 'queryFrequency', 'queryPeriod', 'severity', 'triggerOperator', 'triggerThreshold']) expect(p).toHaveProperty(k);
    expect([p.queryFrequency, p.queryPeriod, p.triggerOperator]).toEqual(['PT1H', 'PT1H', 'GreaterThan']);
    expect(p.techniques).toEqual(['T1651', 'T1021']);
    expect(p.subTechniques).toEqual(['T1021.008']);
    expect(p.query).toBe(rows[0]!.query);
  });
});

describe('Defender XDR custom detection', () => {
  it('has a Defender frequency, no comments, and the required columns in its analyzed result', async () => {
    const { rows } = await build(['--platform', 'defender-xdr', '--format', 'defender-json', SEED]);
    const d = JSON.parse(rows[0]!.output as string);
    expect(['0', '1H', '3H', '12H', '24H']).toContain(d.schedule.period);
    expect(d.queryCondition.queryText).not.toContain('//');
    const m = kustoMapping(loadPlatformMapping('kusto', 'defender-xdr'), 'defender-xdr');
    const cols = new KustoAnalyzer(new Map([['DeviceFileEvents', m.tables.get('DeviceFileEvents')!]])).resultColumns(d.queryCondition.queryText);
    expect(cols.has('Timestamp') && cols.has('ReportId') && cols.has('DeviceId')).toBe(true);
    expect(d.detectionAction.alertTemplate.impactedAssets).toEqual([{ '@odata.type': '#microsoft.graph.security.impactedDeviceAsset', identifier: 'deviceId' }]);
    expect(d.detectionAction.alertTemplate.mitreTechniques).toEqual(['T1651', 'T1021.008']);
  }, 60_000);

  it('a frequency Defender does not offer fails the rule with the valid ones', () => {
    const r = compile(withSchedule('frequency: 2h, lookback: 2h'), 'defender-xdr', 'defender-json');
    expect(!r.ok && r.error).toBe('defender-json: frequency 2h is not one Defender XDR offers; use continuous, 1h, 3h, 12h or 24h (schedule.defender-xdr.frequency sets it for Defender only)');
  });

  it('a format for the other platform is a usage error', async () => {
    const { status, err } = await build(['--format', 'defender-json', SEED]);
    expect(status).toBe(2);
    expect(err[0]).toBe('rulec: format defender-json is for platform defender-xdr; use --platform defender-xdr');
  });
});

describe('ARM structural check (test/kusto/arm.ts)', () => {
  const GOLDEN_ARM = new URL('../../golden/kusto/sentinel-arm/', import.meta.url).pathname;
  const files = readdirSync(GOLDEN_ARM, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));

  it.each(files)('golden %s passes', (f) => {
    expect(armProblems(JSON.parse(readFileSync(join(GOLDEN_ARM, f), 'utf8')))).toEqual([]);
  });

  it('finds what ARM rejects', () => {
    const t = JSON.parse(readFileSync(join(GOLDEN_ARM, files[0]!), 'utf8'));
    const p = t.resources[0].properties;
    p.displayName = '[Test] Cmd rule [beta]';
    p.queryFrequency = '1h';
    p.severity = 'Critical';
    p.tactics = ['Command and Control'];
    p.subTechniques = ['T1021'];
    delete p.suppressionEnabled;
    t.resources[0].name = "[concat(parameters('ws'),'/Microsoft.SecurityInsights/x')]";
    expect(armProblems(t)).toEqual([
      "resources[0].name: parameters('ws') names no declared parameter",
      'resources[0].properties.displayName: "[Test] Cmd rule [beta]" is read by ARM as an expression and does not parse (\'(\' expected after Test); a literal needs \'[[\'',
      'resources[0].name: expected an expression giving <workspace>/Microsoft.SecurityInsights/<guid>, got "[concat(parameters(\'ws\'),\'/Microsoft.SecurityInsights/x\')]"',
      'resources[0].properties.suppressionEnabled: required',
      'resources[0].properties.queryFrequency: "1h" is not an ISO 8601 duration',
      'resources[0].properties.severity: expected one of High, Medium, Low, Informational',
      'resources[0].properties.tactics[0]: "Command and Control" is not an AttackTactic',
      'resources[0].properties.subTechniques[0]: "T1021" is not a sub-technique id (Tnnnn.nnn)',
    ]);
  });
});

const titled = (title: string, extra = ''): string =>
  rule(PROC, "sel:\n  Image|endswith: '\\x.exe'\ncondition: sel", extra).replace('title: Test rule', `title: ${JSON.stringify(title)}`);

describe('strings in ARM templates', () => {
  it('a title ARM would read as an expression is escaped, and the template passes the check', () => {
    const r = compile(titled('[Test] Cmd rule [beta]', "description: '[from the lab]'\n"), 'sentinel', 'sentinel-arm');
    if (!r.ok) throw new Error(r.error);
    const t = JSON.parse(r.output);
    expect(t.resources[0].properties.displayName).toBe('[[Test] Cmd rule [beta]');
    expect(t.resources[0].properties.description).toBe('[[from the lab]');
    expect(armProblems(t)).toEqual([]);
  });

  it('a string that starts with [ but does not end with ] is a literal to ARM and stays as written', () => {
    const r = compile(titled('[Test] Cmd rule'), 'sentinel', 'sentinel-arm');
    expect(r.ok && JSON.parse(r.output).resources[0].properties.displayName).toBe('[Test] Cmd rule');
    // The YAML format has no expression language: no escaping there.
    const y = compile(titled('[Test] Cmd rule [beta]'), 'sentinel', 'sentinel-yaml');
    expect(y.ok && parseYaml(y.output).name).toBe('[Test] Cmd rule [beta]');
  });
});

describe('ATT&CK in Microsoft artifacts', () => {
  it('a technique whose tactic is not tagged brings its ATT&CK tactics; retired ids are left out with a note', () => {
    const r = compile(withSchedule('frequency: 1h', 'tags: [attack.execution, attack.t1547.001, attack.t1086]\n'), 'sentinel', 'sentinel-arm');
    if (!r.ok) throw new Error(r.error);
    const p = JSON.parse(r.output).resources[0].properties;
    expect(p.tactics).toEqual(['Execution', 'Persistence', 'PrivilegeEscalation']);
    expect([p.techniques, p.subTechniques]).toEqual([['T1547'], ['T1547.001']]);
    expect(r.notes).toContain('sentinel-arm: ATT&CK T1086 is revoked (now T1059.001); it is left out');
  });

  it('Defender gets the tactic of its first technique as category when no tactic is tagged', () => {
    const r = compile(withSchedule('frequency: 1h', 'tags: [attack.t1105]\n'), 'defender-xdr', 'defender-json');
    if (!r.ok) throw new Error(r.error);
    const a = JSON.parse(r.output).detectionAction.alertTemplate;
    expect([a.category, a.mitreTechniques]).toEqual(['CommandAndControl', ['T1105']]);
  });
});

describe('schedules per product', () => {
  const out = (s: string, platform: string, format: string): string => {
    const r = compile(withSchedule(s), platform, format);
    return r.ok ? r.output : `error: ${r.error}`;
  };

  it('an override under the product or the target wins over the rule schedule', () => {
    const s = 'frequency: 2h, lookback: 2h, defender-xdr: {frequency: 3h, lookback: 3h}, kusto: {lookback: 4h}';
    expect(JSON.parse(out(s, 'defender-xdr', 'defender-json')).schedule.period).toBe('3H');
    expect([parseYaml(out(s, 'sentinel', 'sentinel-yaml')).queryFrequency, parseYaml(out(s, 'sentinel', 'sentinel-yaml')).queryPeriod]).toEqual(['2h', '4h']);
    expect(out(s, 'sentinel', 'sentinel-yaml')).toContain('| where TimeGenerated > ago(4h)');
    expect(out(s, 'defender-xdr', 'defender-json')).toContain('ago(3h)');
  });

  it('continuous is Defender XDR only', () => {
    expect(JSON.parse(out('defender-xdr: {frequency: continuous}', 'defender-xdr', 'defender-json')).schedule.period).toBe('0');
    expect(out('frequency: continuous', 'sentinel', 'sentinel-arm')).toBe(
      'error: sentinel-arm: schedule.frequency continuous: Sentinel runs rules at an interval; continuous runs are Defender XDR custom detections only (set it under schedule.defender-xdr)',
    );
  });

  it("Defender's fixed lookback bounds the rule's", () => {
    expect(out('frequency: 1h, lookback: 8h', 'defender-xdr', 'defender-json')).toBe(
      'error: defender-json: lookback 8h is longer than the 4h Defender XDR searches at frequency 1h; use a lookback of at most 4h or a longer frequency',
    );
    expect(JSON.parse(out('frequency: 1h, lookback: 4h', 'defender-xdr', 'defender-json')).schedule.period).toBe('1H');
  });

  it('Sentinel durations are written in the unit Sentinel reads', () => {
    const y = parseYaml(out('frequency: 300s, lookback: 120m', 'sentinel', 'sentinel-yaml'));
    expect([y.queryFrequency, y.queryPeriod]).toEqual(['5m', '2h']);
    expect(JSON.parse(out('frequency: 300s, lookback: 120m', 'sentinel', 'sentinel-arm')).resources[0].properties.queryPeriod).toBe('PT2H');
  });

  it('a lookback shorter than the frequency is an error wherever it applies', () => {
    expect(() => compile(withSchedule('frequency: 1h, spl: {lookback: 30m}'))).toThrow('schedule.spl.lookback (30m) is shorter than schedule.spl.frequency (1h)');
  });
});
