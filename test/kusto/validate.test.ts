import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KqlStatements, KustoAnalyzer, parseKql, type SyntaxNode } from '../../src/targets/kusto/validate.js';
import { RULES_DIR } from '../harness/equivalence.js';

/**
 * The Kusto.Language adapter: the one place that calls the library's generated API. A wrong
 * constructor name fails silently (no tables, so no errors at all), so the tests check that errors
 * are found, not only that good queries pass.
 */
describe('Kusto.Language adapter', { timeout: 60_000 }, () => {
  const analyzer = new KustoAnalyzer(
    new Map([
      ['T', new Map([['TimeGenerated', 'datetime'], ['Name', 'string'], ['Port', 'int'], ['Odd-Name', 'string'], ['Bag', 'dynamic']] as const)],
    ]),
  );

  it('accepts a query over the declared columns, including a quoted one', () => {
    expect(analyzer.analyze(`T | where TimeGenerated > ago(1h) | where Name =~ "x" and Port > 5 and ['Odd-Name'] contains "y" | extend V = tostring(Bag.k)`)).toEqual([]);
  });

  it('reports unknown columns and tables, type errors and syntax errors with their codes and offsets', () => {
    const unknownColumn = analyzer.analyze('T | where Nope == 1');
    expect(unknownColumn.map((d) => d.code)).toEqual(['KS142']);
    expect(unknownColumn[0]!.start).toBe(10);
    expect(analyzer.analyze('Nope | take 1').map((d) => d.code)).toEqual(['KS204']);
    expect(analyzer.analyze('T | where Port =~ false').length).toBeGreaterThan(0);
    expect(analyzer.analyze('T | where Name == "a\\*b"').length).toBeGreaterThan(0);
  });

  it('reports the result columns of a query', () => {
    expect([...analyzer.resultColumns('T | extend X = 1').keys()]).toEqual(['TimeGenerated', 'Name', 'Port', 'Odd-Name', 'Bag', 'X']);
  });

  it('parses to a plain tree with decoded literal values', () => {
    const { root, diagnostics } = parseKql('print x = @"a\\b"');
    expect(diagnostics).toEqual([]);
    expect(JSON.stringify(root)).toContain('"kind":"StringLiteralToken","text":"@\\"a\\\\b\\"","valueText":"a\\\\b"');
  });
});

/** A tree as text: every node's kind, start, and every token's text, value and trivia. */
function dump(n: SyntaxNode): string {
  if (n.text !== undefined) return `${n.kind}@${n.start}:${JSON.stringify([n.trivia, n.text, n.valueText])}`;
  return `${n.kind}@${n.start}(${n.children.map(dump).join(' ')})`;
}

describe('KqlStatements: a query read one statement at a time', { timeout: 120_000 }, () => {
  const dir = '../shared/sentinel-kql/dev';
  const queries = readdirSync(dir).map((f) => String((parseYaml(readFileSync(`${dir}/${f}`, 'utf8').replace(/^\uFEFF/, '')) as { query?: unknown }).query ?? ''));
  /** The corpus's queries without a syntax error, with the statements of their whole parse. */
  const parsedWhole = (): [string, SyntaxNode[]][] =>
    queries.flatMap((q) => {
      const whole = parseKql(q);
      if (whole.diagnostics.length) return [];
      const list = whole.root.children.find((c) => c.kind === 'List' && c.children.some((x) => x.kind === 'SeparatedElement'))!;
      return [[q, list.children.filter((c) => c.kind === 'SeparatedElement').map((se) => se.children[0]!)]];
    });

  it('each statement, parsed alone, is the whole query\'s parse of it (kinds, texts, comments, offsets), over the Sentinel corpus', () => {
    let statements = 0;
    for (const [q, full] of parsedWhole()) {
      const expected = full.map(dump);
      const reader = new KqlStatements(q);
      const got: string[] = [];
      for (let i = 0; reader.statement(i); i++) {
        const s = reader.statement(i)!;
        expect(s.diagnostics).toEqual([]);
        expect(s.cut).toBe(false);
        got.push(...s.statements.map(dump));
      }
      expect(got).toEqual(expected);
      statements += got.length;
    }
    expect(statements).toBeGreaterThan(600);
  });

  it('a statement cut after an operator is the whole parse\'s statement up to that operator', () => {
    let cuts = 0;
    for (const [q, full] of parsedWhole()) {
      const reader = new KqlStatements(q);
      for (let i = 0; reader.statement(i); i++) {
        const s = reader.statement(i, (op) => op !== 'where' && op !== 'extend')!;
        if (!s.cut) continue;
        cuts++;
        const [st] = s.statements;
        const f = full[i]!;
        expect(st!.kind).toBe(f.kind);
        // The cut expression is one of the whole expression's left operands (a pipe is left-associative).
        const expr = (n: SyntaxNode): SyntaxNode => n.children.filter((c) => c.text === undefined).at(-1)!;
        const cutText = dump(expr(st!));
        const spine: string[] = [];
        for (let e: SyntaxNode | undefined = expr(f); e; e = e.kind === 'PipeExpression' ? e.children[0] : undefined) spine.push(dump(e));
        expect(spine).toContain(cutText);
      }
    }
    expect(cuts).toBeGreaterThan(100);
  });

  it('splits at top-level semicolons only, and a control command is read whole', () => {
    const r = new KqlStatements('let f = (x:string) { T | where a == x; };\nlet s = "a;b";\nT | where y == s;\n');
    expect([0, 1, 2, 3].map((i) => r.statement(i)?.statements.map((s) => s.kind).join())).toEqual(['LetStatement', 'LetStatement', 'ExpressionStatement', undefined]);
    expect(r.statement(2)!.statements[0]!.start).toBe(57);
    const c = new KqlStatements('.show tables');
    expect(c.statement(0)!.statements.length).toBeLessThanOrEqual(1);
    expect(c.statement(1)).toBeUndefined();
  });
});

describe('build --validate with a pinned data source', { timeout: 120_000 }, () => {
  // The corpus test analyzes the default candidates; the pinned ones read other tables and parsers
  // (SecurityEvent 4688, WindowsEvent, _Im_ProcessCreate...), whose queries must analyze too.
  it('every query of rules/ read from each source analyzes against the schemas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rulec-kpin-'));
    for (const source of ['security-event', 'sysmon', 'asim', 'defender']) {
      const pin = join(dir, `${source}.yml`);
      writeFileSync(pin, `source: ${source}\n`);
      const records: { ok: boolean; kind?: string; source?: { name?: string } }[] = [];
      const io = { out: () => {}, err: () => {}, json: (o: unknown) => records.push(o as (typeof records)[number]) };
      await main(['build', '--target', 'kusto', '--json', '--validate', '--skip-unsupported', '--mapping', pin, '--', RULES_DIR], io);
      expect(records.filter((r) => r.kind === 'invalid'), source).toEqual([]);
      expect(records.filter((r) => r.ok).length, source).toBeGreaterThanOrEqual(3);
      expect(records.filter((r) => r.ok).every((r) => r.source?.name === source), source).toBe(true);
    }
  });
});
