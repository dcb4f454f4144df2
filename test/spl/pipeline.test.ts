/**
 * The correlation commands, one by one: parsePipeline reads exactly what correlation.ts writes
 * (and refuses the rest with a position), and the test interpreter's runPipeline applies each
 * command as docs/targets/spl.md's model of Splunk says.
 */
import { describe, expect, it } from 'vitest';
import { renderPipeline } from '../../src/targets/spl/dialect.js';
import { parsePipeline, SplSyntaxError } from '../../src/targets/spl/parser.js';
import { validateQuery } from '../../src/targets/spl/target.js';
import { runPipeline, type Row, type TimedEvent } from './interpret.js';

const SOURCE = 'EventCode=1\n| eval rulec_rule="r", g=if(mvcount(User)==1, User, null())';

/** Events of EventCode 1 with a User, at the given seconds. */
const at = (...xs: [number, string][]): TimedEvent[] => xs.map(([time, user]) => ({ time, event: { fields: new Map([['EventCode', ['1']], ['User', [user]]]), raw: '' } }));

const run = (commands: string, events: TimedEvent[], now?: number): Row[] => runPipeline(parsePipeline(`${SOURCE}\n${commands}`), events, now);
const col = (rows: Row[], f: string): unknown[] => rows.map((r) => r.get(f) ?? null);

function syntaxError(q: string): SplSyntaxError {
  try {
    parsePipeline(q);
  } catch (e) {
    if (e instanceof SplSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed: ${q}`);
}

describe('parsePipeline', () => {
  it('reads a single source and every command, and prints them back', () => {
    const q = [
      SOURCE,
      '| where isnotnull(g)',
      '| eval t=floor((_time*1000)+0.0005)',
      '| eventstats min(t) AS t0',
      '| sort 0 num(t)',
      '| streamstats time_window=11s count AS n dc(g) AS d BY g',
      '| stats max(n) AS n sum(t) AS s BY g t',
      '| streamstats window=1 current=false global=false max(n) AS pn BY g',
      '| appendpipe [where n>1\n| eval rulec_x="y"]',
      '| rename g AS user.name, n AS count',
      '| table user.name count',
    ].join('\n');
    const p = parsePipeline(q);
    expect(p.sources).toHaveLength(1);
    expect(p.commands.map((c) => c.cmd)).toEqual(['where', 'eval', 'eventstats', 'sort', 'streamstats', 'stats', 'streamstats', 'appendpipe', 'rename', 'table']);
    expect(p.commands[8]).toEqual({ cmd: 'rename', pairs: [['g', 'user.name'], ['n', 'count']] });
    expect(p.commands[4]).toEqual({ cmd: 'streamstats', timeWindow: 11, aggs: [{ fn: 'count', as: 'n' }, { fn: 'dc', field: 'g', as: 'd' }], by: ['g'] });
    expect(p.commands[6]).toEqual({ cmd: 'streamstats', window: 1, current: false, global: false, aggs: [{ fn: 'max', field: 'n', as: 'pn' }], by: ['g'] });
    expect(renderPipeline(p)).toBe(q);
  });

  it('reads multisearch subsearches, each a rule query and its tag', () => {
    const q = '| multisearch\n[search a="x]"\n| eval rulec_rule="a"]\n[search b=1\n| where isnull(c)\n| eval rulec_rule="b"]\n| table rulec_rule';
    const p = parsePipeline(q);
    expect(p.sources.map((s) => s.tag[0]!.expr)).toEqual([
      { k: 'str', value: 'a' },
      { k: 'str', value: 'b' },
    ]);
    expect(p.sources[1]!.query.where).toBeDefined();
    expect(renderPipeline(p)).toBe(q);
  });

  it('refuses what rulec does not write, with the position', () => {
    expect(syntaxError(`${SOURCE}\n| dedup g`).message).toBe("3:3: 'dedup' is not a command rulec emits in a correlation query");
    expect(syntaxError(`${SOURCE}\n| streamstats time_window=5m count AS n`).message).toMatch(/^3:27: rulec writes time_window as whole seconds/);
    expect(syntaxError(`${SOURCE}\n| stats perc95(x) AS p`).message).toMatch(/^3:9: 'perc95' is not a statistical function rulec emits/);
    expect(syntaxError(`${SOURCE}\n| stats count`).message).toMatch(/^3:14: rulec names every statistic with 'AS'/);
    expect(syntaxError(`${SOURCE}\n| sort _time`).message).toMatch(/^3:8: rulec sorts every result: sort 0/);
    expect(syntaxError('EventCode=1\n| eval x=1').message).toMatch(/^1:1: a correlation source ends with '\| eval rulec_rule=...'/);
    expect(syntaxError('| multisearch\n[search a="1"\n| eval rulec_rule="a"]').message).toMatch(/multisearch needs at least two subsearches/);
  });

  it('--validate reads a correlation query as a pipeline, a syntax error being a located diagnostic', () => {
    expect(validateQuery(`${SOURCE}\n| table g`, true)).toEqual([]);
    // As a detection rule's query, the correlation commands are not rulec's.
    expect(validateQuery(`${SOURCE}\n| table g`)).toMatchObject([{ code: 'spl-syntax', line: 3, message: expect.stringContaining("'table' is not a command rulec emits") }]);
    expect(validateQuery(`${SOURCE}\n| dedup g`, true)).toMatchObject([{ severity: 'error', code: 'spl-syntax', line: 3, column: 3 }]);
  });
});

describe('runPipeline: the model of the correlation commands', () => {
  it('stats: one row per BY tuple, rows without a BY field left out, in no order to rely on', () => {
    const events = [...at([1, 'a'], [2, 'b'], [3, 'a']), { time: 4, event: { fields: new Map([['EventCode', ['1']]]), raw: '' } }];
    const rows = run('| stats count AS n max(_time) AS last BY g', events);
    expect(rows.map((r) => [r.get('g'), r.get('n'), r.get('last')])).toEqual([
      ['b', 1, 2],
      ['a', 2, 3],
    ]);
  });

  it('eventstats adds the statistic to every row', () => {
    expect(col(run('| eventstats min(_time) AS first', at([5, 'a'], [2, 'b'])), 'first')).toEqual([2, 2]);
  });

  it('streamstats time_window: earlier rows of the group less than W seconds older, and the row itself', () => {
    const rows = run('| streamstats time_window=3s count AS n BY g', at([0, 'a'], [1, 'b'], [2, 'a'], [4, 'a'], [5.5, 'a']));
    expect(col(rows, 'n')).toEqual([1, 1, 2, 2, 2]);
    // A row exactly W older is not documented either way: the interpreter refuses to guess.
    expect(() => run('| streamstats time_window=3s count AS n BY g', at([0, 'a'], [3, 'a']))).toThrow(/exactly time_window=3s older/);
    expect(() => run('| streamstats time_window=3s count AS n BY g', at([2, 'a'], [1, 'a']))).toThrow(/not in ascending _time/);
  });

  it('streamstats window=1 current=false global=false: the previous row of the group', () => {
    const rows = run('| streamstats window=1 current=false global=false max(_time) AS prev BY g', at([1, 'a'], [2, 'b'], [3, 'a']));
    expect(col(rows, 'prev')).toEqual([null, null, 1]);
    expect(() => run('| streamstats window=1 max(_time) AS prev BY g', at([1, 'a']))).toThrow(/without global=false/);
  });

  it('dc counts distinct values exactly and case-sensitively; sum, max, min of numbers; null over none', () => {
    const rows = run('| eval v=if(g=="a", null(), _time)\n| streamstats time_window=100s dc(User) AS d sum(v) AS s max(v) AS hi min(v) AS lo', at([1, 'a'], [2, 'A'], [3, 'A']));
    expect(rows.map((r) => [r.get('d'), r.get('s') ?? null, r.get('hi') ?? null, r.get('lo') ?? null])).toEqual([
      [1, null, null, null],
      [2, 2, 2, 2],
      [2, 5, 3, 2],
    ]);
    expect(() => run('| streamstats time_window=100s sum(User) AS s', at([1, 'a']))).toThrow(/sum\(\) of text/);
  });

  it('sort 0 num(f) orders by number, ties in reverse (no documented order)', () => {
    const rows = run('| eval k=if(g=="a", 2, 1)\n| sort 0 num(k)', at([1, 'a'], [2, 'b'], [3, 'c']));
    expect(col(rows, 'g')).toEqual(['c', 'b', 'a']);
  });

  it('rename gives a field another name', () => {
    expect(run('| rename g AS user.name\n| table user.name g', at([1, 'a'])).map((r) => Object.fromEntries(r))).toEqual([{ 'user.name': 'a' }]);
  });

  it('appendpipe runs over a copy and appends; table keeps the named fields; now() is the search time', () => {
    const rows = run('| appendpipe [stats count AS n\n| eval g="total"]\n| eval late=_time>=now()-1\n| table g n late', at([1, 'a'], [2, 'b']), 2.5);
    expect(rows.map((r) => Object.fromEntries(r))).toEqual([{ g: 'a', late: false }, { g: 'b', late: true }, { g: 'total', n: 2 }]);
  });
});
