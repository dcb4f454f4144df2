import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const RULES = new URL('../../rules', import.meta.url).pathname;
const SEED = join(RULES, 'seed');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), json: (o: unknown) => out.push(JSON.stringify(o)) } };
}

describe('rulec build --target eql', () => {
  it('prints one query per rule and names what it cannot express', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--fail-on', 'unsupported', RULES], c.io)).toBe(1);
    expect(c.out.join('\n')).toContain('file where winlog.channel == "Microsoft-Windows-Sysmon/Operational" and event.code == "11"');
    expect(c.err.some((l) => /registry_set_win_run_key_script\.yml:\d+:\d+: error \(unsupported\): 'Details\|fieldref: Image' compares two fields/.test(l))).toBe(true);
    // The five correlation rules of rules/correlation/ are refused (the base rules compile).
    expect(c.err.at(-1)).toBe('eql/ecs: 20 rules: 12 compiled, 8 failed (8 unsupported)');
  });

  it('--skip-unsupported --validate --json: every emitted query validates', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--skip-unsupported', '--validate', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.ok)).toHaveLength(12);
    expect(rows.filter((r) => r.skipped).map((r) => r.kind)).toEqual(Array(8).fill('unsupported'));
  });

  it('--out writes .eql files; --format elastic-ndjson and elastic-toml write the artifacts', async () => {
    for (const [format, ext] of [['query', 'eql'], ['elastic-ndjson', 'ndjson'], ['elastic-toml', 'toml']]) {
      const out = mkdtempSync(join(tmpdir(), 'rulec-eql-'));
      const c = capture();
      expect(await main(['build', '--target', 'eql', '--format', format!, '--out', out, SEED], c.io)).toBe(0);
      expect(readdirSync(out)).toEqual(['.rulec-manifest.json', `custom_script_extension_executable_drop.${ext}`]);
      const text = readFileSync(join(out, `custom_script_extension_executable_drop.${ext}`), 'utf8');
      if (ext === 'ndjson') expect(JSON.parse(text).rule_id).toBe('0d6fee06-3ad6-4edc-aea7-c68093370229');
      if (ext === 'toml') expect(text).toContain('rule_id = "0d6fee06-3ad6-4edc-aea7-c68093370229"');
    }
  });

  it('an artifact of a rule without id gets a derived rule_id and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-noid-'));
    writeFileSync(join(dir, 'r.yml'), "title: no id\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {CommandLine|contains: 'x'}\n  condition: sel\n");
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--format', 'elastic-ndjson', dir], c.io)).toBe(0);
    expect(c.err.some((l) => /r\.yml: note: the rule has no id; the Elastic rule_id [0-9a-f-]{36} is derived from its path and title/.test(l))).toBe(true);
  });

  it('--index replaces the index patterns of the Elastic rules, --enable writes them enabled', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--format', 'elastic-ndjson', '--json', SEED], c.io)).toBe(0);
    expect(JSON.parse(JSON.parse(c.out[0]!).output)).toMatchObject({ enabled: false, index: ['logs-windows.sysmon_operational-*', 'winlogbeat-*'] });
    const d = capture();
    expect(await main(['build', '--target', 'eql', '--format', 'elastic-ndjson', '--json', '--enable', '--index', 'logs-custom-*,edr-*', SEED], d.io)).toBe(0);
    expect(JSON.parse(JSON.parse(d.out[0]!).output)).toMatchObject({ enabled: true, index: ['logs-custom-*', 'edr-*'] });
  });

  it('--platform raw keeps Sigma names and routes Windows sources by Channel and EventID', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'raw', SEED], c.io)).toBe(0);
    expect(c.out[1]).toMatch(/^any where Channel == "Microsoft-Windows-Sysmon\/Operational" and EventID == 11 and Image : /);
  });

  it('--mapping overrides a field and its type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-map-'));
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'fields:\n  FileType: file.type\ntypes:\n  file.type: keyword\n');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', SEED], c.io)).toBe(0);
    expect(c.out[1]).toContain('file.type : "*Executable*"');
  });

  it('--mapping can switch the fallback namespace off: an unmapped field is then a mapping failure naming the choices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-map-'));
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'fallback: null\n');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--json', '--mapping', m, '--', SEED], c.io)).toBe(1);
    const row = JSON.parse(c.out[0]!);
    expect(row).toMatchObject({ ok: false, kind: 'mapping' });
    expect(row.error).toMatch(/^field 'FileType' has no mapping on platform ecs-windows for log source \{product: windows, category: file_event\}; fields it maps: .*TargetFilename/);
  });

  it('a broken mapping is a usage error that names the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-map-'));
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'types:\n  file.type: strng\n');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', SEED], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/types\.file\.type: unknown type 'strng'/);
  });

  it('a rule of another product on ecs-windows is a mapping failure naming the platform to use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-ls-'));
    writeFileSync(join(dir, 'aws.yml'), 'title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: ConsoleLogin}\n  condition: sel\n');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'ecs-windows', '--json', dir], c.io)).toBe(1);
    const row = JSON.parse(c.out[0]!);
    expect(row).toMatchObject({ ok: false, kind: 'mapping' });
    expect(row.error).toContain('its log source calls for --platform raw (or --platform ecs, which routes every rule)');
    const r = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'raw', dir], r.io)).toBe(0);
    expect(r.out[1]).toBe('any where eventName : "ConsoleLogin"\n');
  });

  it('the default platform ecs builds a mixed folder: each rule on the data its log source calls for, artifacts with its index patterns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-mixed-'));
    let n = 10;
    const rule = (name: string, logsource: string, sel: string) =>
      writeFileSync(join(dir, `${name}.yml`), `title: ${name}\nid: 11111111-1111-4111-8111-1111111111${n++}\nlogsource: ${logsource}\ndetection:\n  sel: ${sel}\n  condition: sel\n`);
    rule('win', '{product: windows, category: process_creation}', "{CommandLine|contains: ' -enc '}");
    rule('linux', '{product: linux, category: process_creation}', "{Image|endswith: '/curl'}");
    rule('web1', '{category: webserver}', "{cs-uri-query|contains: '/owa/calendar/a', sc-status: 503, cs-method: POST}");
    rule('proxy1', '{category: proxy}', "{c-useragent|startswith: 'rclone/'}");
    rule('dns', '{category: dns}', "{query|endswith: '.onion'}");
    rule('cloudtrail', '{product: aws, service: cloudtrail}', '{eventName: ConsoleLogin}');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--validate', '--json', dir], c.io)).toBe(0);
    const rows = new Map(c.out.map((l) => JSON.parse(l)).map((r) => [r.title, r]));
    expect(rows.get('win')).toMatchObject({ ok: true, platform: 'ecs' });
    expect(rows.get('win').query).toBe('process where winlog.channel == "Microsoft-Windows-Sysmon/Operational" and event.code == "1" and process.command_line : "* -enc *"');
    expect(rows.get('linux').query).toBe('process where host.os.type == "linux" and event.type == "start" and process.executable : "*/curl"');
    expect(rows.get('web1').query).toBe('web where url.query : "*/owa/calendar/a*" and http.response.status_code == 503 and http.request.method : "POST"');
    expect(rows.get('proxy1').query).toBe('web where user_agent.original : "rclone/*"');
    expect(rows.get('dns').query).toBe('network where network.protocol == "dns" and dns.question.name : "*.onion"');
    expect(rows.get('cloudtrail').query).toBe('any where eventName : "ConsoleLogin"');
    expect(rows.get('cloudtrail').notes).toEqual([expect.stringContaining('compiled for documents that carry Sigma field names (platform raw)')]);
    expect(rows.get('web1').notes).toBeUndefined();
    expect(c.err.filter((l) => l.startsWith('note:'))).toEqual([expect.stringMatching(/^note: compiled for documents that carry Sigma field names \(platform raw\).* \(1 rule\)$/)]);
    const out = mkdtempSync(join(tmpdir(), 'rulec-eql-mixed-out-'));
    expect(await main(['build', '--target', 'eql', '--format', 'elastic-ndjson', '--out', out, dir], capture().io)).toBe(0);
    const index = (n: string) => JSON.parse(readFileSync(join(out, `${n}.ndjson`), 'utf8')).index;
    expect(index('win')).toEqual(['logs-windows.sysmon_operational-*', 'winlogbeat-*']);
    expect(index('linux')).toEqual(['logs-endpoint.events.process-*']);
    expect(index('web1')).toEqual(['logs-apache.access-*', 'logs-nginx.access-*', 'logs-iis.access-*', 'filebeat-*']);
    expect(index('dns')).toEqual(['logs-*', 'packetbeat-*', 'filebeat-*']);
    expect(index('cloudtrail')).toEqual(['logs-*']);
  });

  it('a --mapping file given with --platform ecs reaches every platform it routes to; platforms.<name> reaches one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-route-map-'));
    writeFileSync(join(dir, 'p.yml'), "title: p\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {category: proxy}\ndetection:\n  sel: {cs-cookie|contains: 'SESSIONID='}\n  condition: sel\n");
    const refused = capture();
    expect(await main(['build', '--target', 'eql', '--json', join(dir, 'p.yml')], refused.io)).toBe(1);
    expect(JSON.parse(refused.out[0]!)).toMatchObject({ ok: false, kind: 'mapping' });
    expect(JSON.parse(refused.out[0]!).error).toMatch(/^field 'cs-cookie' has no mapping on platform ecs-network for log source \{category: proxy\}; fields it maps: .*c-useragent/);
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'platforms:\n  ecs-network:\n    fields_by_logsource:\n      - when: {category: proxy}\n        fields: {cs-cookie: http.request.cookie}\n    types: {http.request.cookie: keyword}\n');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'p.yml')], c.io)).toBe(0);
    expect(c.out[1]).toBe('web where http.request.cookie : "*SESSIONID=*"\n');
    writeFileSync(m, 'platforms:\n  nope: {}\n');
    const bad = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'p.yml')], bad.io)).toBe(2);
    expect(bad.err[0]).toContain("platform ecs: platforms.nope: no route leads to platform 'nope'");
    writeFileSync(m, 'routes:\n  - when: {category: proxy}\n    platform: ecs-proxy\n');
    const unknown = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'p.yml')], unknown.io)).toBe(2);
    expect(unknown.err[0]).toContain("platform ecs: routes name platform 'ecs-proxy', which is not one it can route to (valid: ecs-linux, ecs-macos, ecs-network, ecs-windows, raw)");
    // Replacing the routes: proxy rules on raw documents, and a log source no route names is a mapping failure.
    writeFileSync(m, 'routes:\n  - when: {category: proxy}\n    platform: raw\n');
    const replaced = capture();
    expect(await main(['build', '--target', 'eql', '--json', '--mapping', m, '--', join(dir, 'p.yml'), SEED], replaced.io)).toBe(0);
    const rows = replaced.out.map((l) => JSON.parse(l));
    expect(rows.find((r) => r.title === 'p').query).toBe('any where `cs-cookie` : "*SESSIONID=*"');
    expect(rows.find((r) => r.title !== 'p')).toMatchObject({ ok: false, kind: 'mapping', skipped: true });
    expect(rows.find((r) => r.title !== 'p').error).toBe('log source {product: windows, category: file_event} matches no route of platform ecs; its routes lead to raw');
  });

  it('keyword selections: refused, or with the keyword_search opt-in an approximate search reported as a note', async () => {
    const kw = join(RULES, 'windows', 'win_system_susp_keywords.yml');
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'raw', kw], c.io)).toBe(1);
    expect(c.err[0]).toMatch(/keyword \(field-less\) search is not expressible on platform raw: .* opt in to an approximate search .*keyword_search/);
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-kw-'));
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'keyword_search: {field: message}\n');
    const o = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'raw', '--mapping', m, '--', kw], o.io)).toBe(0);
    expect(o.out[1]).toBe(
      'any where Channel == "System" and (message : ("*mimikatz*", "*sekurlsa::*", "*lsadump::?am*") or message : "*procdump*" and message : "*lsass*")\n',
    );
    expect(o.err).toContain(`${kw}: note: keyword search approximated as a substring search of message (platform option keyword_search)`);
  });

  it('fold_kelvin_sign: false (shipped) keeps `:` for k and says so once per build; true spells out [Kk\\u{212A}]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-ci-'));
    for (const n of [1, 2]) writeFileSync(join(dir, `r${n}.yml`), `title: t${n}\nid: 11111111-1111-4111-8111-11111111111${n}\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\taskkill.exe'}\n  condition: sel\n`);
    const shipped = capture();
    expect(await main(['build', '--target', 'eql', dir], shipped.io)).toBe(0);
    expect(shipped.out[1]).toContain('process.executable : "*\\\\taskkill.exe"');
    const notes = shipped.err.filter((l) => l.includes('note:'));
    expect(notes).toEqual([
      "note: case-insensitive 'k' / 'K' is matched with Elasticsearch's ASCII case folding, which does not match the KELVIN SIGN (U+212A) as rulec's folding does (platform option fold_kelvin_sign: false; set it to true for [Kk\\u{212A}] regexes) (2 rules)",
    ]);
    const json = capture();
    expect(await main(['build', '--target', 'eql', '--json', dir], json.io)).toBe(0);
    expect(JSON.parse(json.out[0]!).notes).toEqual([expect.stringContaining('KELVIN SIGN')]);
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'fold_kelvin_sign: true\n');
    const exact = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'r1.yml')], exact.io)).toBe(0);
    expect(exact.out[1]).toContain('process.executable regex~ ".*\\\\\\\\tas[Kk\\u{212A}][Kk\\u{212A}]ill\\\\.exe"');
    expect(exact.err.some((l) => l.includes('note:'))).toBe(false);
    writeFileSync(m, 'fold_kelvin_sign: no\n');
    const bad = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'r1.yml')], bad.io)).toBe(2);
    expect(bad.err[0]).toContain('fold_kelvin_sign must be true');
  });

  it('ascii_case_folding: an opt-in, reported approximation that keeps `:` where a case class would be spelled out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-ci-'));
    writeFileSync(join(dir, 'r.yml'), "title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\Élan.exe'}\n  condition: sel\n");
    const exact = capture();
    expect(await main(['build', '--target', 'eql', dir], exact.io)).toBe(0);
    expect(exact.out[1]).toContain('process.executable regex~ ".*\\\\\\\\[Éé]lan\\\\.exe"');
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'ascii_case_folding: true\n');
    const approx = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'r.yml')], approx.io)).toBe(0);
    expect(approx.out[1]).toContain('process.executable : "*\\\\Élan.exe"');
    expect(approx.err.some((l) => /note: case-insensitive text comparisons use ASCII case folding/.test(l))).toBe(true);
  });

  it('lists its platforms and formats in usage errors', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'nope', RULES], c.io)).toBe(2);
    expect(c.err[0]).toContain("valid platforms: ecs, ecs-linux, ecs-macos, ecs-network, ecs-windows, raw");
    const f = capture();
    expect(await main(['build', '--target', 'eql', '--format', 'x', RULES], f.io)).toBe(2);
    expect(f.err[0]).toContain('valid formats: query, elastic-ndjson, elastic-toml');
  });
});
