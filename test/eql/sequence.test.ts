/**
 * The EQL test interpreter's sequences (runSequence, test/eql/interpret.ts) against what Elastic
 * documents: the state machine example of "How sequence queries handle matches" (EQL syntax
 * reference), `with maxspan` measured from the first event (Elasticsearch drops a sequence only when
 * the span is greater than maxspan), events of one timestamp ordered by the tiebreaker, non-optional
 * join keys restricted to non-null values (optional `?` keys may be null).
 */
import { describe, expect, it } from 'vitest';
import { checkEql, type EqlSequence } from '../../src/targets/eql/parser.js';
import { runSequence, type Doc, type SequenceDoc } from './interpret.js';

const KEYWORDS = { typeOf: () => 'keyword' as const };

function parse(q: string): EqlSequence {
  const r = checkEql(q);
  expect(r.diagnostics).toEqual([]);
  return r.sequence!;
}

const doc = (fields: Record<string, string>): Doc => new Map(Object.entries(fields).map(([k, v]) => [k, [v]]));
const at = (time: number, fields: Record<string, string>, tiebreaker = 0): SequenceDoc => ({ doc: doc({ 'event.category': 'process', ...fields }), time, tiebreaker });
const run = (q: string, docs: SequenceDoc[]) => runSequence(parse(q), docs, () => KEYWORDS).map((s) => ({ key: s.key, docs: s.docs, end: s.end }));

describe('EQL interpreter: sequences as Elasticsearch documents them', () => {
  it("Elastic's state machine example: one pending sequence per state and user, the newest kept", () => {
    const events: [string, string][] = [
      ['root', 'attrib'],
      ['root', 'attrib'],
      ['elkbee', 'bash'],
      ['root', 'bash'],
      ['root', 'bash'],
      ['elkbee', 'attrib'],
      ['root', 'attrib'],
      ['elkbee', 'bash'],
      ['root', 'cat'],
      ['elkbee', 'cat'],
      ['root', 'cat'],
    ];
    const docs = events.map(([user, name], i) => at(i * 1000, { 'user.name': user, 'process.name': name }));
    const q = 'sequence by user.name\n  [process where process.name == "attrib"]\n  [process where process.name == "bash"]\n  [process where process.name == "cat"]';
    // Documents 2, 4, 9 for root and 6, 8, 10 for elkbee (the documentation's _ids, 1-based).
    expect(run(q, docs)).toEqual([
      { key: ['root'], docs: [1, 3, 8], end: 8000 },
      { key: ['elkbee'], docs: [5, 7, 9], end: 9000 },
    ]);
  });

  it('maxspan is inclusive, from the first event; a sequence that exceeds it is dropped', () => {
    const q = 'sequence by h with maxspan=5s [process where a == "1"] [process where b == "1"]';
    expect(run(q, [at(0, { h: 'x', a: '1' }), at(5000, { h: 'x', b: '1' })])).toEqual([{ key: ['x'], docs: [0, 1], end: 5000 }]);
    expect(run(q, [at(0, { h: 'x', a: '1' }), at(5001, { h: 'x', b: '1' })])).toEqual([]);
    // The late event took the pending sequence out of its state: a third event finds none.
    expect(run(q, [at(0, { h: 'x', a: '1' }), at(5001, { h: 'x', b: '1' }), at(5002, { h: 'x', b: '1' })])).toEqual([]);
    const three = 'sequence by h with maxspan=5s [process where a == "1"] [process where b == "1"] [process where c == "1"]';
    expect(run(three, [at(0, { h: 'x', a: '1' }), at(1000, { h: 'x', b: '1' }), at(5001, { h: 'x', c: '1' })])).toEqual([]);
  });

  it('a completed sequence leaves its events: a second final event completes nothing', () => {
    const q = 'sequence by h with maxspan=5s [process where a == "1"] [process where b == "1"]';
    expect(run(q, [at(0, { h: 'x', a: '1' }), at(1000, { h: 'x', a: '1' }), at(2000, { h: 'x', b: '1' }), at(3000, { h: 'x', b: '1' })])).toEqual([{ key: ['x'], docs: [1, 2], end: 2000 }]);
  });

  it('events of one timestamp are in tiebreaker order', () => {
    const q = 'sequence by h [process where a == "1"] [process where b == "1"]';
    expect(run(q, [at(0, { h: 'x', a: '1' }, 1), at(0, { h: 'x', b: '1' }, 2)])).toEqual([{ key: ['x'], docs: [0, 1], end: 0 }]);
    expect(run(q, [at(0, { h: 'x', a: '1' }, 2), at(0, { h: 'x', b: '1' }, 1)])).toEqual([]);
  });

  it('an event matching two queries never follows itself', () => {
    const q = 'sequence by h [process where a == "1"] [process where a == "1"]';
    expect(run(q, [at(0, { h: 'x', a: '1' })])).toEqual([]);
    // The middle event ends one sequence and starts the next (each query is searched on its own).
    expect(run(q, [at(0, { h: 'x', a: '1' }), at(1, { h: 'x', a: '1' }), at(2, { h: 'x', a: '1' })])).toEqual([
      { key: ['x'], docs: [0, 1], end: 1 },
      { key: ['x'], docs: [1, 2], end: 2 },
    ]);
  });

  it('join keys: a required key needs a value, an optional one joins on null; per-query keys by position', () => {
    const q = (k: string) => `sequence by ${k} [process where a == "1"] [process where b == "1"]`;
    const docs = [at(0, { a: '1' }), at(1, { b: '1' })];
    expect(run(q('h'), docs)).toEqual([]);
    expect(run(q('?h'), docs)).toEqual([{ key: [null], docs: [0, 1], end: 1 }]);
    const per = 'sequence [process where a == "1"] by src [process where b == "1"] by dst';
    expect(run(per, [at(0, { a: '1', src: 'p' }), at(1, { b: '1', dst: 'q' }), at(2, { b: '1', dst: 'p' })])).toEqual([{ key: ['p'], docs: [0, 2], end: 2 }]);
  });
});
