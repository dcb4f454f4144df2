import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { kustoMapping } from '../../src/targets/kusto/mapping.js';
import { KustoAnalyzer } from '../../src/targets/kusto/validate.js';
import { main } from '../../src/cli/main.js';
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
    expect(!r.ok && r.error).toBe('defender-json: frequency 2h is not one Defender offers; use 1h, 3h, 12h or 24h');
  });

  it('a format for the other platform is a usage error', async () => {
    const { status, err } = await build(['--format', 'defender-json', SEED]);
    expect(status).toBe(2);
    expect(err[0]).toBe('rulec: format defender-json is for platform defender-xdr; use --platform defender-xdr');
  });
});
