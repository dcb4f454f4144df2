/**
 * Field names Splunk can hold (issue 11): Sigma fields outside Splunk's field-name set are renamed
 * as Splunk's key cleaning names them, a mapping that names a field Splunk cannot hold is refused
 * with the character and the fix, and no emitted query names such a field. Web server, proxy and
 * firewall log sources search their Splunk home and type their numeric fields.
 */
import { describe, expect, it } from 'vitest';
import { backendFile, deepMerge, loadPlatformMapping, readYamlFile } from '../../src/config/mapping.js';
import { compileNode, EventView } from '../../src/eval/index.js';
import type { Query } from '../../src/targets/spl/ast.js';
import { cleanKey, platformMapping, resolveLogSource } from '../../src/targets/spl/mapping.js';
import { parseQuery } from '../../src/targets/spl/parser.js';
import { checkFieldNames, PLATFORMS, splTarget } from '../../src/targets/spl/target.js';
import { load, ruleYaml } from '../helpers/rules.js';
import { runQuery } from './interpret.js';
import { splunkEvent } from './model.js';

function compile(platform: string, logsource: string, detection: string, over?: unknown) {
  const loaded = load(ruleYaml(detection).replace('product: windows\n  category: process_creation', logsource));
  if (!loaded.ir || loaded.rule?.kind !== 'detection') throw new Error(JSON.stringify(loaded.diagnostics));
  const base = loadPlatformMapping('spl', platform);
  const mapping = over === undefined ? base : deepMerge(base, over);
  const input = { path: 't.yml', rule: loaded.rule, ir: loaded.ir };
  const r = splTarget.compile(input, { platform, format: 'query', mapping });
  const pm = platformMapping(mapping, platform);
  const ir = loaded.ir;
  return {
    r,
    /** SPL's verdict on an event, checked against the evaluator's. */
    on(event: Record<string, unknown>): boolean {
      if (!r.ok) throw new Error(r.error);
      const spl = runQuery(parseQuery(r.query), splunkEvent(event, pm, resolveLogSource(pm, input.rule.logsource)));
      expect(spl, `evaluator and SPL on ${JSON.stringify(event)}\n${r.query}`).toBe(compileNode(ir)(new EventView(event)));
      return spl;
    },
  };
}

describe("Splunk's key cleaning", () => {
  it('renames as the Splunk documentation shows (12345my/wierd]field, $my-field) and keeps . and :', () => {
    expect(cleanKey('12345my/wierd]field')).toBe('my_wierd_field');
    expect(cleanKey('$my-field')).toBe('my_field');
    expect(cleanKey('cs-uri-query')).toBe('cs_uri_query');
    expect(cleanKey('cs(User-Agent)')).toBe('cs_User_Agent_');
    expect(cleanKey('userIdentity.arn')).toBe('userIdentity.arn');
    expect(cleanKey('aws:region')).toBe('aws:region');
    expect(cleanKey('Threat Name')).toBe('Threat_Name');
    expect(cleanKey('_-1')).toBe('');
  });
});

describe('field names on every SPL platform', () => {
  it('a Sigma field Splunk cannot hold is renamed on sysmon and windows, in search and in where', () => {
    for (const platform of ['sysmon', 'windows']) {
      const q = compile(platform, 'category: webserver', `sel: {cs-uri-query|contains: '/owa/calendar/a', cs-uri-stem|re: '^/x'}\ncondition: sel`);
      expect(q.r).toMatchObject({ ok: true });
      if (!q.r.ok) continue;
      expect(q.r.query).toContain('cs_uri_query="*/owa/calendar/a*"');
      expect(q.r.query).toContain('mvfind(cs_uri_stem, "^/x")');
      expect(q.r.query).not.toMatch(/cs-uri/);
      expect(q.on({ 'cs-uri-query': '/OWA/calendar/abc', 'cs-uri-stem': '/x.aspx' })).toBe(true);
      expect(q.on({ 'cs-uri-query': '/owa/x', 'cs-uri-stem': '/x.aspx' })).toBe(false);
    }
  });

  it('a field with an array index step ([N]) is unsupported unless a mapping names it: Splunk names all elements alike', () => {
    const q = compile('sysmon', 'product: azure\n  service: auditlogs', `sel: {'TargetResources[0].displayName|contains': 'admin'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringContaining("field 'TargetResources[0].displayName' reads one element of an array ([N])") });
  });

  it('on a log source without its own entry too (zeek http), quoted names included', () => {
    const q = compile('sysmon', 'product: zeek\n  service: http', `sel: {c-useragent|re: 'WebDAV', c-uri|endswith: '.exe'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'c_uri="*.exe"\n| where isnotnull(mvfind(c_useragent, "WebDAV"))' });
  });

  it('a --mapping file still names fields differently', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {cs-uri-query|contains: 'x'}\ncondition: sel`, { logsources: { webserver: { fields: { 'cs-uri-query': 'uri_query' } } } });
    expect(q.r).toMatchObject({ ok: true, query: 'sourcetype IN ("iis", "ms:iis:auto", "ms:iis:default", "ms:iis:default:85") uri_query="*x*"' });
  });

  it('a mapping to a name Splunk cannot hold is a mapping error that names the character (a backtick is no quote) and the fix', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {cs-uri-query|contains: 'x'}\ncondition: sel`, { logsources: { webserver: { fields: { 'cs-uri-query': 'uri`query' } } } });
    expect(q.r).toMatchObject({ ok: false, kind: 'mapping' });
    if (q.r.ok) return;
    expect(q.r.error).toContain("field 'cs-uri-query' has no Splunk name for log source {category: webserver} on SPL platform sysmon");
    expect(q.r.error).toContain("logsources.webserver.fields maps it to 'uri`query', which holds a backtick (`)");
    expect(q.r.error).toContain("letters, digits, '_', '.' and ':' only");
    expect(q.r.error).toContain("map it to the name Splunk extracts ('uri_query' if Splunk's key cleaning named it) (logsources.webserver in a --mapping file)");
    expect(q.r.error).not.toContain('quote');
  });

  it('unknown_fields: as-is keeps names, and refuses one Splunk cannot hold with the cleaned name to use', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {cs-uri-query|contains: 'x'}\ncondition: sel`, { logsources: { webserver: { unknown_fields: 'as-is' } } });
    expect(q.r).toMatchObject({ ok: false, kind: 'mapping', error: expect.stringMatching(/unknown_fields: as-is\), which holds '-'.*or set unknown_fields: clean \(Splunk's key cleaning: 'cs_uri_query'\) \(logsources\.webserver in a --mapping file\)$/) });
  });

  it('a field of which key cleaning leaves nothing is a mapping error', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {'--': 'x'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: false, kind: 'mapping', error: expect.stringMatching(/Splunk's key cleaning leaves nothing of it; name it with logsources\.webserver\.fields/) });
  });

  it('the emitted query is checked: a field outside the set is refused as a rulec defect', () => {
    const q: Query = { search: { k: 'eq', field: 'ok_field', value: { kind: 'any' } }, where: { k: 'call', fn: 'isnull', args: [{ k: 'field', name: 'c-uri' }] } };
    expect(() => checkFieldNames(q)).toThrow(/rulec defect: the query names the field 'c-uri'/);
    expect(() => checkFieldNames({ search: { k: 'eq', field: 'Web.uri_query', value: { kind: 'any' } } })).not.toThrow();
  });

  it('numeric and prefix field names in a mapping file are checked when it is read', () => {
    const base = loadPlatformMapping('spl', 'sysmon');
    expect(() => platformMapping(deepMerge(base, { numeric: ['sc-status'] }), 'sysmon')).toThrow(/numeric\[0\]: 'sc-status' is not a Splunk field name: it holds '-'/);
  });

  it.each(PLATFORMS)('platform %s: every field of every platform mapping is a Splunk field name', (platform) => {
    const pm = platformMapping(loadPlatformMapping('spl', platform), platform);
    for (const e of pm.entries) {
      for (const f of [...Object.values(e.fields), ...e.numeric, ...e.prefix.map((t) => t.field)]) expect(f, `${platform} ${e.key}`).toMatch(/^[A-Za-z0-9_.:]+$/);
    }
  });
});

describe('web server, proxy and firewall log sources', () => {
  it('webserver (W3C/IIS): the sourcetypes, W3C names and numeric status codes make plain search terms', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {sc-status: 503, cs-method: POST, cs-uri-query|contains: '/owa/calendar/a'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'sourcetype IN ("iis", "ms:iis:auto", "ms:iis:default", "ms:iis:default:85") sc_status=503 cs_method="POST" cs_uri_query="*/owa/calendar/a*"' });
    expect(q.r.ok && q.r.notes).toBeUndefined();
    expect(q.on({ 'sc-status': 503, 'cs-method': 'POST', 'cs-uri-query': '/owa/calendar/abc' })).toBe(true);
    expect(q.on({ 'sc-status': '503', 'cs-method': 'post', 'cs-uri-query': '/owa/calendar/a' })).toBe(true);
    expect(q.on({ 'sc-status': 500, 'cs-method': 'POST', 'cs-uri-query': '/owa/calendar/abc' })).toBe(false);
  });

  it('webserver in the Apache/nginx combined format: the shipped --mapping file backends/spl/_access-combined.yml', () => {
    const combined = readYamlFile(backendFile('spl', '_access-combined.yml'));
    const q = compile('sysmon', 'category: webserver', `sel: {sc-status: 503, cs-method: POST, cs-uri-query|contains: 'owa', cs-user-agent|contains: curl}\ncondition: sel`, combined);
    expect(q.r).toMatchObject({ ok: true, query: 'sourcetype IN ("access_combined", "access_combined_wcookie") status=503 method="POST" uri_query="*owa*" useragent="*curl*"' });
    expect(q.on({ 'sc-status': 503, 'cs-method': 'POST', 'cs-uri-query': 'x=owa', 'cs-user-agent': 'curl/8.0' })).toBe(true);
    expect(q.on({ 'sc-status': 200, 'cs-method': 'POST', 'cs-uri-query': 'x=owa', 'cs-user-agent': 'curl/8.0' })).toBe(false);
    const k = compile('sysmon', 'category: webserver', `keywords: ['owa']\ncondition: keywords`, combined);
    expect(k.r).toMatchObject({ ok: false, kind: 'unsupported', error: expect.stringMatching(/a combined log line quotes values that hold spaces/) });
  });

  it('webserver: the request headers are the cs(...) columns of W3C logs', () => {
    const q = compile('sysmon', 'category: webserver', `sel: {cs-user-agent|contains: sqlmap, cs-referer: null}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'sourcetype IN ("iis", "ms:iis:auto", "ms:iis:default", "ms:iis:default:85") cs_User_Agent_="*sqlmap*" NOT cs_Referer_=*' });
  });

  it('webserver keywords: inside one value of the W3C line, never across the separator', () => {
    const q = compile('sysmon', 'category: webserver', `keywords: ['a*b']\ncondition: keywords`);
    expect(q.on({ 'cs-method': 'GET', 'cs-uri-stem': '/a/x/b' })).toBe(true);
    expect(q.on({ 'cs-uri-stem': '/a', 'cs-uri-query': 'b' })).toBe(false);
    expect(q.on({ 'cs-uri-stem': '/x', 'cs-username': null, 'cs-uri-query': 'a' })).toBe(false);
  });

  it('proxy: the CIM proxy tag and Web field names', () => {
    const q = compile('sysmon', 'category: proxy', `sel: {c-useragent|startswith: 'rclone/v', cs-method: GET, sc-status: 200, c-uri|contains: '/x'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'tag="proxy" http_user_agent="rclone/v*" http_method="GET" status=200 url="*/x*"' });
    expect(q.r.ok && q.r.notes).toBeUndefined();
    expect(q.on({ 'c-useragent': 'rclone/v1.2', 'cs-method': 'GET', 'sc-status': 200, 'c-uri': 'http://h/x' })).toBe(true);
  });

  it('firewall: the CIM communication tag, numeric ports, the vendor action', () => {
    const q = compile('sysmon', 'category: firewall', `sel: {dst_port: [21, 23], action: accept}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'tag="communication" dest_port IN (21, 23) vendor_action="accept"' });
    expect(q.r.ok && q.r.notes).toBeUndefined();
    expect(q.on({ dst_port: 23, action: 'ACCEPT' })).toBe(true);
    expect(q.on({ dst_port: '230', action: 'accept' })).toBe(false);
  });

  it('JSON logs whose numbers are integers: an equality is a search term, not a bare * with | where', () => {
    const q = compile('sysmon', 'product: opencanary\n  category: application', `sel: {logtype: 2000}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: 'logtype=2000' });
    expect(q.on({ logtype: 2000 })).toBe(true);
    expect(q.on({ logtype: '2000.0' })).toBe(true);
    expect(q.on({ logtype: 20000 })).toBe(false);
  });

  it('cim: webserver is the Web data model, as proxy is', () => {
    const q = compile('cim', 'category: webserver', `sel: {sc-status: 503, cs-method: POST, cs-uri-query|contains: '/owa/'}\ncondition: sel`);
    expect(q.r).toMatchObject({ ok: true, query: '| datamodel Web Web search\n| search Web.status=503 Web.http_method="POST" Web.uri_query="*/owa/*"' });
    expect(q.on({ 'sc-status': 503, 'cs-method': 'POST', 'cs-uri-query': '/owa/x' })).toBe(true);
    const unknown = compile('cim', 'category: webserver', `sel: {cs-uri-extension: exe}\ncondition: sel`);
    expect(unknown.r).toMatchObject({ ok: false, kind: 'mapping', error: expect.stringMatching(/field 'cs-uri-extension' has no mapping for data model Web\.Web on SPL platform cim; fields with a mapping: .*cs-uri-query/) });
  });
});
