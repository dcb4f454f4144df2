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
    expect(c.err.at(-1)).toBe('eql/ecs-windows: 8 rules: 5 compiled, 3 failed (3 unsupported)');
  });

  it('--skip-unsupported --validate --json: every emitted query validates', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--skip-unsupported', '--validate', '--json', RULES], c.io)).toBe(0);
    const rows = c.out.map((l) => JSON.parse(l));
    expect(rows.filter((r) => r.ok)).toHaveLength(5);
    expect(rows.filter((r) => r.skipped).map((r) => r.kind)).toEqual(['unsupported', 'unsupported', 'unsupported']);
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
    expect(await main(['build', '--target', 'eql', '--json', dir], c.io)).toBe(1);
    const row = JSON.parse(c.out[0]!);
    expect(row).toMatchObject({ ok: false, kind: 'mapping' });
    expect(row.error).toContain('its log source calls for --platform raw');
    const r = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'raw', dir], r.io)).toBe(0);
    expect(r.out[1]).toBe('any where eventName : "ConsoleLogin"\n');
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
      'any where Channel == "System" and (message regex~ (".*mimi[Kk\\u{212A}]atz.*", ".*se[Kk\\u{212A}]urlsa::.*") or message : "*lsadump::?am*" or message : "*procdump*" and message : "*lsass*")\n',
    );
    expect(o.err).toContain(`${kw}: note: keyword search approximated as a substring search of message (platform option keyword_search)`);
  });

  it('ascii_case_folding: an opt-in, reported approximation that keeps `:` where a case class would be spelled out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-eql-ci-'));
    writeFileSync(join(dir, 'r.yml'), "title: t\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\taskkill.exe'}\n  condition: sel\n");
    const exact = capture();
    expect(await main(['build', '--target', 'eql', dir], exact.io)).toBe(0);
    expect(exact.out[1]).toContain('process.executable regex~ ".*\\\\\\\\tas[Kk\\u{212A}][Kk\\u{212A}]ill\\\\.exe"');
    const m = join(dir, 'm.yml');
    writeFileSync(m, 'ascii_case_folding: true\n');
    const approx = capture();
    expect(await main(['build', '--target', 'eql', '--mapping', m, '--', join(dir, 'r.yml')], approx.io)).toBe(0);
    expect(approx.out[1]).toContain('process.executable : "*\\\\taskkill.exe"');
    expect(approx.err.some((l) => /note: case-insensitive text comparisons use ASCII case folding/.test(l))).toBe(true);
  });

  it('lists its platforms and formats in usage errors', async () => {
    const c = capture();
    expect(await main(['build', '--target', 'eql', '--platform', 'nope', RULES], c.io)).toBe(2);
    expect(c.err[0]).toContain("valid platforms: ecs-windows, ecs-linux, ecs-macos, raw");
    const f = capture();
    expect(await main(['build', '--target', 'eql', '--format', 'x', RULES], f.io)).toBe(2);
    expect(f.err[0]).toContain('valid formats: query, elastic-ndjson, elastic-toml');
  });
});
