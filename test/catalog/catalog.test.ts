/**
 * `rulec catalog`: a page for every rule, the heatmap's counts against catalog.json, the same
 * explanation `rulec explain` derives, refusals on the page, escaping of hostile rule text, and the
 * out-dir rules (never overwrite a file rulec did not write).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/index.js';
import { scriptJson } from '../../src/catalog/render.js';
import { main } from '../../src/cli/main.js';
import { effectiveIr } from '../../src/collection/filters.js';
import { loadCollection } from '../../src/collection/load.js';
import { corpusIndex, explainRule } from '../../src/explain/index.js';
import type { DetectionRule } from '../../src/model/types.js';
import { capture } from '../helpers/cli.js';
import { RULES_DIR } from '../harness/equivalence.js';

interface IndexData {
  targets: string[];
  rules: { t: string; p: string; d: string; ta: string[]; a: string[]; x: number[] }[];
}

function indexData(out: string): IndexData {
  const window: { RULEC_CATALOG?: IndexData } = {};
  runInNewContext(readFileSync(join(out, 'index-data.js'), 'utf8'), { window });
  return window.RULEC_CATALOG!;
}

const readJson = (out: string): Catalog => JSON.parse(readFileSync(join(out, 'catalog.json'), 'utf8')) as Catalog;

/** The heatmap's cells with rules: `tactic/technique` -> the count the cell shows. */
function heatmapCells(html: string): Map<string, number> {
  const cells = new Map<string, number>();
  for (const m of html.matchAll(/<td class="heat-\d" data-tactic="([^"]+)" data-technique="([^"]+)" data-count="(\d+)">/g)) {
    expect(cells.has(`${m[1]}/${m[2]}`)).toBe(false);
    cells.set(`${m[1]}/${m[2]}`, Number(m[3]));
  }
  return cells;
}

async function catalog(args: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
  const c = capture();
  const status = await main(['catalog', ...args], c.io);
  return { status, out: c.out, err: c.err };
}

describe('rulec catalog of rules/', () => {
  let out: string;
  let result: Awaited<ReturnType<typeof catalog>>;
  beforeAll(async () => {
    out = join(mkdtempSync(join(tmpdir(), 'rulec-catalog-')), 'site');
    result = await catalog([RULES_DIR, '--out', out, '--title', 'Test catalog']);
  }, 120_000);

  it('gives every detection rule a page, and lists the documents without one', () => {
    const { rules } = loadCollection([RULES_DIR]);
    const detections = rules.filter((r) => r.rule?.kind === 'detection');
    const others = rules.length - detections.length;
    // Counted from the collection, so that a rule added to rules/ does not break this test.
    expect(result.err.join('\n')).toMatch(new RegExp(`^catalog: ${detections.length} rule pages, ${others} rule documents? without a page \\(0 invalid\\) -> `, 'm'));
    expect(detections.length).toBeGreaterThanOrEqual(10);
    expect(result.status).toBe(0);
    const c = readJson(out);
    expect(c.rules.map((r) => r.path).sort()).toEqual(detections.map((r) => r.path).sort());
    for (const r of c.rules) expect(existsSync(join(out, r.page)), r.page).toBe(true);
    expect(c.skipped).toEqual(rules.filter((r) => r.rule?.kind !== 'detection').map((r) => ({ path: r.path, index: r.index, reason: `${r.rule!.kind} rules have no page yet` })));
    expect(c.skipped).toContainEqual({ path: join(RULES_DIR, 'windows/filter_win_inventory_agent.yml'), index: 0, reason: 'filter rules have no page yet' });
    expect(c.targets).toEqual(['kusto', 'eql', 'spl', 'ts']);
    expect(c.title).toBe('Test catalog');
    const data = indexData(out);
    expect(data.rules.map((r) => r.t).sort()).toEqual(c.rules.map((r) => r.title).sort());
    for (const r of data.rules) expect(existsSync(join(out, decodeURIComponent(r.p))), r.p).toBe(true);
  });

  it('writes the seed rule page under rules/seed, with every section in the seed page order', () => {
    const html = readFileSync(join(out, 'rules/seed/custom_script_extension_executable_drop.html'), 'utf8');
    const order = ['<h1>Executable Drop via Azure Custom Script Extension</h1>', 'MITRE ATT&amp;CK coverage', 'References', 'Event coverage', 'Rule body', 'Stages and predicates', 'Indicators', 'Output fields'];
    const at = order.map((h) => html.indexOf(h));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(html).toContain('T1651</a> Cloud Administration Command');
    expect(html).toContain('T1021.008</a> Remote Services: Direct Cloud VM Connections');
    for (const row of ['<td>Sysmon</td><td>Event ID 11</td><td>FileCreate</td>', '<td>Security-Auditing</td><td>Event ID 4663</td>', '<td>Defender-DeviceFileEvents</td><td>FileCreated</td>']) expect(html).toContain(row);
    expect(html.match(/<h3>Stage \d: /g)).toHaveLength(6);
    for (const t of ['kusto', 'eql', 'spl', 'ts']) expect(html).toContain(`role="tab" id="tab-${t}"`);
    // The ts module's shared runtime is left out, and the page says so.
    expect(html).toMatch(/Left out here: the \d+ lines that follow/);
    expect(html).not.toContain('// Match runtime');
  });

  it('holds the explanation rulec explain derives, indicator counts over the whole collection', async () => {
    const { rules } = loadCollection([RULES_DIR]);
    const irs = effectiveIr(rules);
    const seed = rules.find((r) => r.path.endsWith('custom_script_extension_executable_drop.yml'))!;
    const x = await explainRule(seed.path, seed.rule as DetectionRule, irs.get(seed)!, { target: 'kusto', corpus: corpusIndex(irs.values()), inCorpus: true });
    const page = readJson(out).rules.find((r) => r.path === seed.path)!;
    const { body, ...rest } = x;
    expect({ ...page, page: undefined, bodies: undefined, stages: undefined, placements: undefined }).toEqual({ ...rest, page: undefined, bodies: undefined, stages: undefined, placements: undefined });
    expect(body.ok && page.bodies[0]).toEqual({ target: 'kusto', platform: 'sentinel', ok: true, query: body.ok ? body.query : '' });
    expect(page.stages).toEqual(body.ok ? { target: 'kusto', platform: 'sentinel', parameters: body.parameters, stages: body.stages } : null);
    // Image endswith \customscripthandler.exe is in no other rule of rules/; the extensions are.
    expect(page.indicators.find((i) => i.field === 'Image')!.values).toEqual([{ value: '\\customscripthandler.exe', corpus: 0 }]);
  });

  it("shows counts on the heatmap that are catalog.json's, sub-techniques rolled up into their parent", () => {
    const c = readJson(out);
    const cells = heatmapCells(readFileSync(join(out, 'attack.html'), 'utf8'));
    const expected = new Map<string, number>();
    for (const r of c.rules) for (const p of r.placements) expected.set(`${p.tactic}/${p.technique}`, (expected.get(`${p.tactic}/${p.technique}`) ?? 0) + 1);
    const shown = new Map([...cells].filter(([, n]) => n > 0));
    expect(shown).toEqual(expected);
    const matrix = new Map(c.matrix.flatMap((col) => col.techniques.filter((t) => t.count).map((t) => [`${col.tactic.id}/${t.id}`, t.count] as const)));
    expect(matrix).toEqual(expected);
    // A tactic's count includes the rules tagged with it alone (Admin Tool Launched Off Hours: attack.execution).
    for (const col of c.matrix) expect(col.count, col.tactic.id).toBe(c.rules.filter((r) => r.attack.some((a) => a.tactic.id === col.tactic.id)).length);
    const tacticOnly = c.rules.find((r) => r.title === 'Admin Tool Launched Off Hours')!;
    expect(tacticOnly.attack).toEqual([{ tactic: { id: 'TA0002', name: 'Execution' }, techniques: [] }]);
    expect(indexData(out).rules.find((r) => r.t === tacticOnly.title)!.ta).toEqual(['TA0002']);
    // The seed's T1021.008 counts for T1021 under Lateral Movement; no sub-technique has a cell.
    expect(cells.get('TA0008/T1021')).toBeGreaterThanOrEqual(1);
    expect([...cells.keys()].some((k) => k.includes('.'))).toBe(false);
    // Every ATT&CK tactic is a column, in ATT&CK's order.
    expect(c.matrix.map((col) => col.tactic.name).slice(0, 3)).toEqual(['Reconnaissance', 'Resource Development', 'Initial Access']);
  });

  it('does not overwrite a file rulec did not write, and removes the page of a rule no longer in the collection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-catalog-own-'));
    mkdirSync(join(dir, 'r'));
    const rule = (id: string): string => `title: Rule ${id}\nid: 0000000${id}-0000-0000-0000-000000000000\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\x${id}.exe'}\n  condition: sel\n`;
    writeFileSync(join(dir, 'r/a.yml'), rule('1'));
    writeFileSync(join(dir, 'r/b.yml'), rule('2'));
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'notes.txt'), 'mine');
    expect((await catalog([join(dir, 'r'), '--out', site])).status).toBe(0);
    expect(existsSync(join(site, 'rules/b.html'))).toBe(true);
    rmSync(join(dir, 'r/b.yml'));
    writeFileSync(join(site, 'attack.html'), 'edited by hand');
    const second = await catalog([join(dir, 'r'), '--out', site]);
    expect(second.status).toBe(1);
    expect(second.err.join('\n')).toContain(`${join(site, 'attack.html')}: error: not overwritten: it was changed since rulec wrote it`);
    expect(readFileSync(join(site, 'attack.html'), 'utf8')).toBe('edited by hand');
    expect(existsSync(join(site, 'rules/b.html'))).toBe(false);
    expect(readFileSync(join(site, 'notes.txt'), 'utf8')).toBe('mine');
  }, 60_000);

  it('reports an invalid rule with its place, writes the pages of the others, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-catalog-invalid-'));
    mkdirSync(join(dir, 'r'));
    writeFileSync(join(dir, 'r/good.yml'), `title: Good\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\\\a.exe'}\n  condition: sel\n`);
    writeFileSync(join(dir, 'r/bad.yml'), `title: Bad\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: x}\n  condition: nosuch\n`);
    const r = await catalog([join(dir, 'r'), '--out', join(dir, 'site')]);
    expect(r.status).toBe(1);
    expect(r.err[0]).toMatch(new RegExp(`^${join(dir, 'r/bad.yml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: error: .*nosuch`));
    const c = readJson(join(dir, 'site'));
    expect(c.rules.map((x) => x.title)).toEqual(['Good']);
    expect(c.skipped).toHaveLength(1);
    expect(c.skipped[0]!.path).toBe(join(dir, 'r/bad.yml'));
  }, 60_000);

  it('refuses an unknown target naming the valid ones', async () => {
    const r = await catalog([RULES_DIR, '--out', join(tmpdir(), 'never'), '--target', 'kusto,kql']);
    expect(r.status).toBe(2);
    expect(r.err).toEqual(["rulec: --target: unknown target 'kql'; valid targets: kusto, eql, spl, ts"]);
  });
});

describe('rulec catalog of hostile and refused rules', () => {
  const hostile = `title: </script><script>alert("title")</script>
id: 6f1bcf36-0d3c-4d9f-9b7f-6f0a4c1f0a01
status: test
description: <img src=x onerror=alert(1)> & "quotes" </script>
references:
  - javascript:alert(1)
  - https://example.org/a?b=1&c=<2>
logsource: {product: nosuchproduct, category: nosuchcategory}
detection:
  sel:
    Image|endswith: '</script><script>alert(2)</script>'
  condition: sel
`;
  let out: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rulec-catalog-hostile-'));
    mkdirSync(join(dir, 'r'));
    writeFileSync(join(dir, 'r/x#y?.yml'), hostile);
    out = join(dir, 'site');
    const c = capture();
    expect(await main(['catalog', join(dir, 'r'), '--out', out, '--title', '</title><script>alert(3)</script>'], c.io)).toBe(0);
  }, 60_000);

  it('escapes the site title on every page', () => {
    for (const page of ['index.html', 'attack.html', 'rules/x#y?.html']) {
      const html = readFileSync(join(out, page), 'utf8');
      expect(html, page).not.toContain('<script>alert(3)');
      expect(html, page).toContain('&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
    }
  });

  it('escapes every value of the page: no markup, script or link of the rule survives', () => {
    const html = readFileSync(join(out, 'rules/x#y?.html'), 'utf8');
    expect(html).not.toMatch(/<img|<script>alert|<\/script><script>/);
    // Only the page's own script element.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; &amp; &quot;quotes&quot; &lt;/script&gt;');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('<li>javascript:alert(1)</li>');
    expect(html).toContain('<a href="https://example.org/a?b&#x3D;1&amp;c&#x3D;&lt;2&gt;" rel="noreferrer noopener">');
  });

  it('encodes the index data for a script: no </script>, the same strings after parsing, an encoded page link', () => {
    const js = readFileSync(join(out, 'index-data.js'), 'utf8');
    expect(js).not.toMatch(/<\/script|<img|<!--/i);
    const data = indexData(out);
    expect(data.rules[0]!.t).toBe('</script><script>alert("title")</script>');
    expect(data.rules[0]!.d).toBe('<img src=x onerror=alert(1)> & "quotes" </script>');
    expect(data.rules[0]!.p).toBe('rules/x%23y%3F.html');
    expect(JSON.parse(scriptJson('a</script>\u2028b'))).toBe('a</script>\u2028b');
    expect(scriptJson('</script>')).toBe('"\\u003c/script\\u003e"');
  });

  it('shows each refusing target its error, and the index knows which targets refuse the rule', () => {
    const html = readFileSync(join(out, 'rules/x#y?.html'), 'utf8');
    const c = readJson(out);
    const bodies = c.rules[0]!.bodies;
    // Kusto has no table for an unknown log source; EQL and SPL search their raw indexes, ts needs none.
    expect(bodies.map((b) => b.target)).toEqual(['kusto', 'eql', 'spl', 'ts']);
    expect(bodies[0]!.ok).toBe(false);
    expect(bodies[3]!.ok).toBe(true);
    for (const b of bodies) if (!b.ok) expect(html).toContain(`<strong>${b.target} refuses this rule (${b.kind}):</strong>`);
    expect(html).toContain('None: kusto refuses the rule');
    expect(indexData(out).rules[0]!.x).toEqual(bodies.map((b) => (b.ok ? 1 : 0)));
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('<option value="kusto:refused">refused by kusto</option>');
  });
});

describe('rulec catalog of a native rule (native:)', () => {
  // The seed imported with --fields native; a copy outside rules/ so the counts of rules/ stay.
  const NATIVE = new URL('../fixtures/native/custom_script_extension_executable_drop.yml', import.meta.url).pathname;
  let out: string;
  beforeAll(async () => {
    out = join(mkdtempSync(join(tmpdir(), 'rulec-catalog-native-')), 'site');
    expect((await catalog([NATIVE, '--out', out])).status).toBe(0);
  }, 60_000);

  it('covers the rule\'s table on the Kusto platforms that have it, and no Sysmon, EQL or SPL source', () => {
    const html = readFileSync(join(out, 'rules/custom_script_extension_executable_drop.html'), 'utf8');
    const coverage = html.slice(html.indexOf('<h2 id="h-coverage">'), html.indexOf('</section>', html.indexOf('<h2 id="h-coverage">')));
    expect(coverage.match(/<tr><td>/g)).toHaveLength(1);
    expect(coverage).toContain('<tr><td>Defender XDR</td><td>Defender-DeviceFileEvents</td><td>FileCreated</td><td>File created</td><td>eval, kusto/sentinel, kusto/defender-xdr</td></tr>');
    expect(coverage).not.toMatch(/Sysmon|eql|spl/);
    expect(readJson(out).rules[0]!.eventCoverage.map((r) => r.readBy)).toEqual([['eval', 'kusto/sentinel', 'kusto/defender-xdr']]);
  });

  it('says its fields are the columns of its table, and heads the indicators Column', () => {
    const html = readFileSync(join(out, 'rules/custom_script_extension_executable_drop.html'), 'utf8');
    expect(html).toContain('<div><dt>fields</dt><dd>native columns of kusto table DeviceFileEvents (platform sentinel)</dd></div>');
    const indicators = html.slice(html.indexOf('<h2 id="h-indicators">'), html.indexOf('</section>', html.indexOf('<h2 id="h-indicators">')));
    expect(indicators).toContain('Each row is a column,');
    expect(indicators).toContain('<thead><tr><th scope="col">Column</th>');
    expect(readJson(out).rules[0]!.native).toEqual({ target: 'kusto', platform: 'sentinel', table: 'DeviceFileEvents' });
  });

  it('shows the kusto body on the rule\'s own platform: a rule imported from defender-xdr on defender-xdr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-catalog-native-xdr-'));
    writeFileSync(
      join(dir, 'r.yml'),
      'title: T\nid: 11111111-2222-3333-4444-555555555557\nlogsource: {product: windows, category: file_event}\nnative: {target: kusto, platform: defender-xdr, table: DeviceFileEvents}\ndetection:\n  a: {ActionType: FileCreated}\n  condition: a\n',
    );
    const site = join(dir, 'site');
    expect((await catalog([join(dir, 'r.yml'), '--out', site])).status).toBe(0);
    const bodies = readJson(site).rules[0]!.bodies;
    expect(bodies[0]).toMatchObject({ target: 'kusto', platform: 'defender-xdr', ok: true });
    expect(bodies.slice(1).map((b) => b.platform)).toEqual(['ecs', 'sysmon', 'node']);
  }, 60_000);

  it('shows the EQL and SPL refusals with their reason; kusto and ts compile it', () => {
    const html = readFileSync(join(out, 'rules/custom_script_extension_executable_drop.html'), 'utf8');
    const bodies = readJson(out).rules[0]!.bodies;
    expect(bodies.map((b) => [b.target, b.ok])).toEqual([['kusto', true], ['eql', false], ['spl', false], ['ts', true]]);
    for (const t of ['eql', 'spl']) {
      expect(html).toContain(`<strong>${t} refuses this rule (unsupported):</strong>`);
      expect(html).toContain(`which the ${t} target cannot map; import the query with --fields sigma to build it for ${t}`);
    }
  });
});
