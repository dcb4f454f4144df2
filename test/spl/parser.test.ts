import { describe, expect, it } from 'vitest';
import { parseQuery, SplSyntaxError } from '../../src/targets/spl/parser.js';
import { renderQuery } from '../../src/targets/spl/dialect.js';
import { validateQuery } from '../../src/targets/spl/target.js';
import { runQuery, runSearch, type SplunkEvent } from './interpret.js';

const ev = (fields: Record<string, string | string[]>, raw = ''): SplunkEvent => ({
  fields: new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
  raw,
});

function syntaxError(q: string): SplSyntaxError {
  try {
    parseQuery(q);
  } catch (e) {
    if (e instanceof SplSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed: ${q}`);
}

describe('SPL parser: the search command', () => {
  it('reads NOT, then OR, then AND (OR binds tighter than AND)', () => {
    const q = parseQuery('a="1" b="2" OR c="3"');
    expect(q.search).toEqual({
      k: 'and',
      items: [
        { k: 'eq', field: 'a', value: { kind: 'string', text: '1' } },
        { k: 'or', items: [{ k: 'eq', field: 'b', value: { kind: 'string', text: '2' } }, { k: 'eq', field: 'c', value: { kind: 'string', text: '3' } }] },
      ],
    });
    // So `a b OR c` does not mean `(a AND b) OR c`: an event with only c does not match.
    expect(runSearch(q.search, ev({ c: '3' }))).toBe(false);
    expect(runSearch(parseQuery('NOT a="1" OR b="2"').search, ev({ a: '1', b: '2' }))).toBe(true);
    expect(runSearch(parseQuery('NOT (a="1" OR b="2")').search, ev({ b: '2' }))).toBe(false);
  });

  it('NOT F="v" matches an event without F (two-valued)', () => {
    const q = parseQuery('NOT User="SYSTEM"');
    expect(runSearch(q.search, ev({}))).toBe(true);
    expect(runSearch(q.search, ev({ User: 'system' }))).toBe(false);
  });

  it('matches whole values with * as the only wildcard, ASCII letters without case', () => {
    const s = parseQuery('Image="*\\\\cmd.exe" P="a?c"').search;
    expect(runSearch(s, ev({ Image: 'C:\\Windows\\CMD.EXE', P: 'a?c' }))).toBe(true);
    expect(runSearch(s, ev({ Image: 'C:\\Windows\\CMD.EXE', P: 'abc' }))).toBe(false);
    expect(runSearch(parseQuery('U="é"').search, ev({ U: 'É' }))).toBe(false);
    expect(runSearch(parseQuery('F IN ("a", "b*")').search, ev({ F: ['x', 'bz'] }))).toBe(true);
  });

  it('refuses what rulec never emits, with a position', () => {
    expect(syntaxError('mimikatz').message).toMatch(/^1:1: 'mimikatz' is a bare search term/);
    expect(syntaxError('a="1"\n| stats count').message).toMatch(/^2:3: 'stats' is not a command rulec emits/);
    expect(syntaxError('a="x\\*"').message).toMatch(/escape \\\* has no documented meaning/);
    expect(syntaxError('a="1" | where nosuch(a)').message).toMatch(/unknown eval function 'nosuch'/);
    expect(syntaxError('a="1" | where match(a)').message).toMatch(/match\(\) takes 2\.\.2 arguments, got 1/);
    expect(syntaxError('a="1" | where a="x"').message).toMatch(/write '==' for a comparison/);
    expect(syntaxError('a="1" | where isnull(a) | where isnull(b)').message).toMatch(/one where stage/);
    expect(syntaxError('a="1" | eval rulec_x=1 | where rulec_x==1').message).toMatch(/must be dropped with '\| fields - rulec_\*'/);
    expect(syntaxError('(a="1"').message).toMatch(/expected '\)'/);
    expect(syntaxError('a="1" NOT ()').message).toMatch(/^1:11: an empty group/);
  });

  it('reports errors as located diagnostics for --validate', () => {
    expect(validateQuery('a="1"')).toEqual([]);
    expect(validateQuery('a="1" |')).toEqual([expect.objectContaining({ severity: 'error', code: 'spl-syntax', line: 1, column: 8 })]);
  });
});

describe('SPL parser: eval expressions', () => {
  it('reads AND before OR, NOT before both, and comparisons', () => {
    const q = parseQuery('* | where isnull(a) OR isnull(b) AND isnull(c)');
    expect(q.where).toMatchObject({ k: 'or', items: [{ k: 'call' }, { k: 'and' }] });
    expect(parseQuery("* | where NOT 'x.y'==1").where).toMatchObject({ k: 'not', item: { k: 'cmp', op: '==', left: { k: 'field', name: 'x.y' } } });
  });

  it('eval strings lose one level of backslashes; regexes see the rest', () => {
    const q = parseQuery('* | where match(Image, "\\\\\\\\cmd\\\\.exe\\\\z")');
    expect(q.where).toMatchObject({ k: 'call', args: [{}, { k: 'str', value: '\\\\cmd\\.exe\\z' }] });
    expect(runQuery(q, ev({ Image: 'C:\\cmd.exe' }))).toBe(true);
    expect(runQuery(q, ev({ Image: 'C:\\cmdxexe' }))).toBe(false);
  });

  it('round-trips every construct of the printer', () => {
    const text = [
      '| datamodel Endpoint Processes search',
      '| search Processes.process="*a*" NOT Processes.user=* (x IN ("1", "2*") OR y=5)',
      '| eval rulec_T_y=tonumber(substr(T, 1, 4)), rulec_T_z=if(rulec_T_y<100, rulec_T_y+1900, (-1)*rulec_T_y)',
      '| where (coalesce(mvcount(mvfilter(match(F, "^1\\\\z") AND (tonumber(F)>=2))), 0)>0) OR match(lower(coalesce(G, "")).lower(coalesce(F, "")), "(?s)^(.{".len(lower(coalesce(G, "")))."}).*\\\\1")',
      '| fields - rulec_*',
    ].join('\n');
    expect(renderQuery(parseQuery(text))).toBe(text);
  });
});
