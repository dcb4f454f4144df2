import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/ir/types.js';
import { witnessOf } from '../../src/eval/witness.js';

const contains = (field: string, value: string): Node => ({ kind: 'str', field, op: 'contains', value, case: 'ci' });
const show = (n: Node) => witnessOf(n)?.map((c) => c.map((l) => `${l.field}:${l.text}`).sort());

describe('witnesses', () => {
  it('keep the two most selective clauses of an and', () => {
    expect(show({ kind: 'and', children: [contains('A', 'x'), contains('B', 'longer'), contains('C', 'lo')] })).toEqual([['B:longer'], ['C:lo']]);
  });

  it('give an or of ands one clause per rank: the union of every branch clause of that rank', () => {
    // proc_creation_win_susp_commandline_path_traversal_evasion: without the second clause, every
    // image under \Windows\ made the rule a candidate.
    const rule: Node = {
      kind: 'or',
      children: [
        { kind: 'and', children: [contains('Image', '\\Windows\\'), { kind: 'or', children: [contains('CommandLine', '\\..\\Windows\\'), contains('CommandLine', '\\..\\..\\')] }] },
        contains('CommandLine', '.exe\\..\\'),
      ],
    };
    expect(show(rule)).toEqual([
      ['CommandLine:.exe\\..\\', 'Image:\\windows\\'],
      ['CommandLine:.exe\\..\\', 'CommandLine:\\..\\..\\', 'CommandLine:\\..\\windows\\'],
    ]);
  });

  it('take a term match\'s value, which occurs in any text it matches (case-insensitively folded)', () => {
    expect(show({ kind: 'or', children: [{ kind: 'has', field: 'A', value: 'Cmd.exe', case: 'ci' }, { kind: 'has', field: 'A', value: 'PS', case: 'cs' }] })).toEqual([['A:cmd.exe', 'A:ps']]);
  });

  it('give an or none when a branch has none', () => {
    expect(witnessOf({ kind: 'or', children: [contains('A', 'abc'), { kind: 'exists', field: 'B' }] })).toBeUndefined();
  });
});
