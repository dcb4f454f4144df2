/**
 * A structural check of an ARM template holding Sentinel scheduled analytic rules, from ARM's own
 * rules: template syntax (schema, contentVersion, typed parameters), expressions (a string that
 * starts with `[` and ends with `]` is an expression unless it starts with `[[`; every expression
 * must parse and name only declared parameters), and the alertRules resource (Microsoft.SecurityInsights
 * REST API 2024-01-01-preview, kind Scheduled: required properties, types, ISO 8601 durations, enums,
 * limits). Returns one message per problem, each naming the JSON path.
 */

const SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#';
const PARAMETER_TYPES = ['string', 'securestring', 'int', 'bool', 'object', 'secureobject', 'array'];
const ALERT_RULES = 'Microsoft.OperationalInsights/workspaces/providers/alertRules';
const REQUIRED: Record<string, 'string' | 'boolean' | 'number'> = {
  displayName: 'string', enabled: 'boolean', query: 'string', queryFrequency: 'string', queryPeriod: 'string', severity: 'string',
  suppressionDuration: 'string', suppressionEnabled: 'boolean', triggerOperator: 'string', triggerThreshold: 'number',
};
const OPTIONAL = ['description', 'tactics', 'techniques', 'subTechniques', 'entityMappings', 'customDetails', 'alertDetailsOverride', 'eventGroupingSettings', 'incidentConfiguration', 'alertRuleTemplateName', 'templateVersion', 'sentinelEntitiesMappings'];
const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'];
const OPERATORS = ['GreaterThan', 'LessThan', 'Equal', 'NotEqual'];
const TACTICS = [
  'Reconnaissance', 'ResourceDevelopment', 'InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion', 'CredentialAccess',
  'Discovery', 'LateralMovement', 'Collection', 'Exfiltration', 'CommandAndControl', 'Impact', 'PreAttack', 'ImpairProcessControl', 'InhibitResponseFunction',
];
const ENTITY_TYPES = [
  'Account', 'Host', 'IP', 'Malware', 'File', 'Process', 'CloudApplication', 'DNS', 'AzureResource', 'FileHash', 'RegistryKey', 'RegistryValue',
  'SecurityGroup', 'URL', 'Mailbox', 'MailCluster', 'MailMessage', 'SubmissionMail',
];
const ISO_DURATION = /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** ISO 8601 duration -> minutes. */
function isoMinutes(d: string): number {
  const m = ISO_DURATION.exec(d)!;
  const n = (s: string | undefined): number => (s ? parseInt(s, 10) : 0);
  return n(m[1]) * 1440 + n(m[3]) * 60 + n(m[4]) + n(m[5]) / 60;
}

type Value = string | { call: string; args: Value[] };

/** ARM expression language, the part a template of ours may use: calls, '...' literals ('' escapes a quote). */
function parseExpression(src: string): Value {
  let i = 0;
  const ws = (): void => {
    while (src[i] === ' ') i++;
  };
  const value = (): Value => {
    ws();
    if (src[i] === "'") {
      let out = '';
      for (i++; ; i++) {
        if (i >= src.length) throw new Error('unterminated string');
        if (src[i] === "'") {
          if (src[i + 1] === "'") (out += "'"), i++;
          else break;
        } else out += src[i];
      }
      i++;
      return out;
    }
    const m = /^[A-Za-z][A-Za-z0-9]*/.exec(src.slice(i));
    if (!m) throw new Error(`unexpected '${src[i] ?? 'end'}' at ${i}`);
    i += m[0].length;
    ws();
    if (src[i] !== '(') throw new Error(`'(' expected after ${m[0]}`);
    i++;
    const args: Value[] = [];
    ws();
    if (src[i] === ')') i++;
    else
      for (;;) {
        args.push(value());
        ws();
        if (src[i] === ',') i++;
        else if (src[i] === ')') {
          i++;
          break;
        } else throw new Error(`',' or ')' expected at ${i}`);
      }
    return { call: m[0], args };
  };
  const v = value();
  ws();
  if (i !== src.length) throw new Error(`trailing text at ${i}`);
  return v;
}

/** Evaluate with parameters standing for themselves (`<workspace>`). */
function evaluate(v: Value, params: Set<string>, problems: string[], at: string): string {
  if (typeof v === 'string') return v;
  const args = v.args.map((a) => evaluate(a, params, problems, at));
  if (v.call === 'concat') return args.join('');
  if (v.call === 'parameters') {
    if (args.length !== 1 || !params.has(args[0]!)) problems.push(`${at}: parameters('${args[0]}') names no declared parameter`);
    return `<${args[0]}>`;
  }
  problems.push(`${at}: function ${v.call} is not expected in this template`);
  return '';
}

function isExpression(s: string): boolean {
  return s.startsWith('[') && s.endsWith(']') && !s.startsWith('[[');
}

export function armProblems(template: unknown): string[] {
  const problems: string[] = [];
  const t = template as Record<string, unknown>;
  if (t.$schema !== SCHEMA) problems.push(`$schema: expected ${SCHEMA}`);
  if (typeof t.contentVersion !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(t.contentVersion)) problems.push('contentVersion: expected n.n.n.n');
  const params = new Set<string>();
  for (const [k, p] of Object.entries((t.parameters ?? {}) as Record<string, { type?: unknown }>)) {
    if (typeof p.type !== 'string' || !PARAMETER_TYPES.includes(p.type.toLowerCase())) problems.push(`parameters.${k}.type: expected one of ${PARAMETER_TYPES.join(', ')}`);
    params.add(k);
  }
  // Every string of the template: expressions must parse and reference declared parameters.
  const names = new Map<string, string>();
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'string') {
      if (!isExpression(v)) return;
      try {
        names.set(at, evaluate(parseExpression(v.slice(1, -1)), params, problems, at));
      } catch (e) {
        problems.push(`${at}: ${JSON.stringify(v)} is read by ARM as an expression and does not parse (${(e as Error).message}); a literal needs '[['`);
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
  };
  walk(t, '');
  if (!Array.isArray(t.resources) || t.resources.length === 0) return [...problems, 'resources: expected a non-empty array'];
  t.resources.forEach((r: Record<string, unknown>, i: number) => {
    const at = `resources[${i}]`;
    if (r.type !== ALERT_RULES) problems.push(`${at}.type: expected ${ALERT_RULES}`);
    if (typeof r.apiVersion !== 'string' || !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(r.apiVersion)) problems.push(`${at}.apiVersion: expected yyyy-mm-dd[-preview]`);
    if (r.kind !== 'Scheduled') problems.push(`${at}.kind: expected Scheduled`);
    const name = names.get(`${at}.name`);
    if (!name || !/^<workspace>\/Microsoft\.SecurityInsights\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)) {
      problems.push(`${at}.name: expected an expression giving <workspace>/Microsoft.SecurityInsights/<guid>, got ${JSON.stringify(r.name)}`);
    }
    const p = (r.properties ?? {}) as Record<string, unknown>;
    const pa = `${at}.properties`;
    for (const [k, type] of Object.entries(REQUIRED)) {
      if (!(k in p)) problems.push(`${pa}.${k}: required`);
      else if (typeof p[k] !== type) problems.push(`${pa}.${k}: expected a ${type}`);
    }
    for (const k of Object.keys(p)) if (!(k in REQUIRED) && !OPTIONAL.includes(k)) problems.push(`${pa}.${k}: not a property of a Scheduled alert rule`);
    const str = (k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : '');
    if (str('displayName').length > 256) problems.push(`${pa}.displayName: longer than 256`);
    if (str('description').length > 5000) problems.push(`${pa}.description: longer than 5000`);
    if (str('query').length > 10000) problems.push(`${pa}.query: longer than 10000`);
    for (const k of ['queryFrequency', 'queryPeriod', 'suppressionDuration']) if (!ISO_DURATION.test(str(k))) problems.push(`${pa}.${k}: ${JSON.stringify(p[k])} is not an ISO 8601 duration`);
    if (ISO_DURATION.test(str('queryFrequency')) && ISO_DURATION.test(str('queryPeriod'))) {
      const f = isoMinutes(str('queryFrequency'));
      const q = isoMinutes(str('queryPeriod'));
      if (f < 5 || f > 14 * 1440 || q < 5 || q > 14 * 1440) problems.push(`${pa}: queryFrequency and queryPeriod must be within PT5M..P14D`);
      if (q < f) problems.push(`${pa}: queryPeriod is shorter than queryFrequency`);
    }
    if (!SEVERITIES.includes(str('severity'))) problems.push(`${pa}.severity: expected one of ${SEVERITIES.join(', ')}`);
    if (!OPERATORS.includes(str('triggerOperator'))) problems.push(`${pa}.triggerOperator: expected one of ${OPERATORS.join(', ')}`);
    if (typeof p.triggerThreshold === 'number' && (p.triggerThreshold < 0 || p.triggerThreshold > 10000)) problems.push(`${pa}.triggerThreshold: expected 0..10000`);
    const list = (k: string, ok: (x: unknown) => boolean, what: string): void => {
      if (p[k] === undefined) return;
      if (!Array.isArray(p[k])) return void problems.push(`${pa}.${k}: expected an array`);
      (p[k] as unknown[]).forEach((x, j) => {
        if (!ok(x)) problems.push(`${pa}.${k}[${j}]: ${JSON.stringify(x)} is not ${what}`);
      });
    };
    list('tactics', (x) => TACTICS.includes(x as string), 'an AttackTactic');
    list('techniques', (x) => typeof x === 'string' && /^T\d{4}$/.test(x), 'a technique id (Tnnnn)');
    list('subTechniques', (x) => typeof x === 'string' && /^T\d{4}\.\d{3}$/.test(x), 'a sub-technique id (Tnnnn.nnn)');
    list('entityMappings', (x) => {
      const e = x as { entityType?: string; fieldMappings?: { identifier?: unknown; columnName?: unknown }[] };
      return ENTITY_TYPES.includes(e.entityType ?? '') && Array.isArray(e.fieldMappings) && e.fieldMappings.length >= 1 && e.fieldMappings.length <= 3
        && e.fieldMappings.every((f) => typeof f.identifier === 'string' && typeof f.columnName === 'string' && /^[a-zA-Z_]+\w*$/.test(f.columnName));
    }, 'an entity mapping (entityType, 1..3 fieldMappings)');
    if (Array.isArray(p.entityMappings) && p.entityMappings.length > 10) problems.push(`${pa}.entityMappings: at most 10`);
    if (p.customDetails !== undefined) {
      const cd = p.customDetails as Record<string, unknown>;
      if (typeof cd !== 'object' || Array.isArray(cd) || cd === null) problems.push(`${pa}.customDetails: expected an object`);
      else {
        if (Object.keys(cd).length > 20) problems.push(`${pa}.customDetails: at most 20`);
        for (const [k, v] of Object.entries(cd)) if (!/^[a-zA-Z]+\w*$/.test(k) || k.length > 20 || typeof v !== 'string') problems.push(`${pa}.customDetails.${k}: key ^[a-zA-Z]+\\w*$ (<= 20) to a column name`);
      }
    }
  });
  return problems;
}
