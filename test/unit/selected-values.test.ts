/**
 * `selectedValues`: the values a field must equal in every event a node matches (what explain
 * lists as a native rule's EventIDs and ActionTypes). Checked against the reference reading of
 * docs/semantics.md: whenever it names values and an event matches, the event's field holds one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectedValues, type Node } from '../../src/ir/types.js';
import { fold } from '../../src/runtime/fold.js';
import { irEvent, irTree } from '../helpers/ir-arbitrary.js';
import { referenceMatch } from '../helpers/reference-eval.js';
import { PROPERTY_RUNS } from '../harness/property.js';

const str = (value: string, op: 'eq' | 'contains' = 'eq'): Node => ({ kind: 'str', field: 'F', op, value, case: 'ci' });

describe('selectedValues', () => {
  it('an and narrows, an or needs every branch, a not or another operator selects nothing', () => {
    expect(selectedValues({ kind: 'and', children: [{ kind: 'or', children: [str('a'), str('b')] }, str('b'), str('x', 'contains')] }, 'F')).toEqual(['b']);
    expect(selectedValues({ kind: 'or', children: [str('a'), str('x', 'contains')] }, 'F')).toBeUndefined();
    expect(selectedValues({ kind: 'not', child: str('a') }, 'F')).toBeUndefined();
    expect(selectedValues(str('a'), 'G')).toBeUndefined();
    expect(selectedValues({ kind: 'num', field: 'F', op: 'eq', value: 4688 }, 'F')).toEqual(['4688']);
    expect(selectedValues({ kind: 'num', field: 'F', op: 'gte', value: 4688 }, 'F')).toBeUndefined();
    expect(selectedValues({ kind: 'or', children: [str('a'), { kind: 'const', value: false }] }, 'F')).toEqual(['a']);
  });

  it('every event a random node matches holds one of the values it selects', () => {
    let checked = 0;
    fc.assert(
      fc.property(irTree, fc.array(irEvent, { minLength: 1, maxLength: 4 }), (ir, events) => {
        const values = selectedValues(ir, 'F');
        if (!values) return;
        for (const ev of events) {
          if (!referenceMatch(ir, ev)) continue;
          checked++;
          // An eq of the empty string also matches an absent or null field (docs/semantics.md).
          const held = [ev.F].flat().map((x) => x ?? '');
          if (held.length === 0) held.push('');
          const same = (x: unknown, v: string): boolean =>
            fold(String(x)) === fold(v) || (typeof x !== 'boolean' && x !== null && x !== '' && Number(x) === Number(v));
          expect(held.some((x) => values.some((v) => same(x, v))), JSON.stringify({ ir, ev, values })).toBe(true);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
    // The property held on matches, not only on nodes that select nothing.
    expect(checked).toBeGreaterThan(0);
  }, 600_000);
});
