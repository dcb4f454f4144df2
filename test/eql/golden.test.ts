import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenFiles } from '../../src/targets/eql/golden.js';
import { loadPlatformMapping } from '../../src/config/mapping.js';
import { rulePlatform } from '../../src/targets/eql/mapping.js';
import { checkEql } from '../../src/targets/eql/parser.js';
import { RULES_DIR } from '../harness/equivalence.js';

const GOLDEN = new URL('../../golden/eql/', import.meta.url).pathname;
const MIXED_DIR = new URL('../fixtures/eql-ecs-rules', import.meta.url).pathname;

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [relative(GOLDEN, p)];
  });
}

describe('golden/eql (regenerate with `npm run golden:eql`, then review the diff)', () => {
  const fresh = goldenFiles(RULES_DIR, MIXED_DIR);

  it('has exactly the files the rules produce', () => {
    expect(walk(GOLDEN).sort()).toEqual(fresh.map((f) => f.path).sort());
  });

  it.each(fresh.map((f) => [f.path, f.content] as const))('%s is up to date', (path, content) => {
    expect(readFileSync(join(GOLDEN, path), 'utf8')).toBe(content);
  });

  it('every golden query validates with our EQL parser (ECS names checked)', () => {
    for (const f of fresh.filter((x) => x.path.endsWith('.eql'))) {
      const name = f.platform ?? f.path.split('/')[0]!;
      // A correlation's sequence reads the fields of every rule it relates.
      const platforms = (f.logsources ?? [f.logsource]).map((ls) => rulePlatform(name, loadPlatformMapping('eql', name), ls));
      expect(checkEql(f.content.trim(), { knows: (x) => platforms.some((p) => p.knows(x)) }).diagnostics, f.path).toEqual([]);
    }
  });

  it('the NDJSON artifacts are one JSON object with the fields Kibana requires', () => {
    for (const f of fresh.filter((x) => x.path.endsWith('.ndjson'))) {
      const lines = f.content.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      const o = JSON.parse(lines[0]!);
      expect(o).toMatchObject({ type: 'eql', language: 'eql', enabled: false });
      for (const k of ['rule_id', 'name', 'description', 'risk_score', 'severity', 'query', 'index', 'from', 'interval', 'threat']) expect(o, `${f.path}: ${k}`).toHaveProperty(k);
      expect(['low', 'medium', 'high', 'critical']).toContain(o.severity);
      const query = fresh.find((x) => x.path === f.path.replace(/\.ndjson$/, '.eql'))!;
      expect(o.query + '\n').toBe(query.content);
    }
  });

  it('the TOML artifacts carry the same query in a multi-line literal', () => {
    for (const f of fresh.filter((x) => x.path.endsWith('.toml'))) {
      const query = fresh.find((x) => x.path === f.path.replace(/\.toml$/, '.eql'))!;
      expect(f.content).toContain(`query = '''\n${query.content}'''\n`);
      expect(f.content).toMatch(/^\[metadata\]\n/);
      expect(f.content).toMatch(/\n\[rule\]\n/);
      expect(f.content).toContain('\ntimestamp_override = "event.ingested"\n');
      // The integration of the data the rule reads; none where Elastic has no integration rulec knows of (raw, DNS, proxy, firewall).
      if (/(^|\/)(ecs-windows\/|win_)/.test(f.path)) expect(f.content).toMatch(/\nintegration = \["windows"\]\n/);
      else expect(f.content).toMatch(/\nintegration = \["[a-z_]+"(, "[a-z_]+")*\]\n|^(?![\s\S]*\nintegration = )/);
    }
  });
});
