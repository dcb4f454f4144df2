import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileNode, EventView } from '../../src/eval/index.js';
import { irEvent, irTree } from '../helpers/ir-arbitrary.js';
import { referenceMatch } from '../helpers/reference-eval.js';
import { PROPERTY_RUNS } from '../harness/property.js';

describe('the compiled evaluator agrees with a naive reading of docs/semantics.md', () => {
  it('on random IR and events', () => {
    fc.assert(
      fc.property(irTree, fc.array(irEvent, { minLength: 1, maxLength: 4 }), (ir, events) => {
        const m = compileNode(ir);
        for (const ev of events) expect(m(new EventView(ev)), JSON.stringify({ ir, ev })).toBe(referenceMatch(ir, ev));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  }, 600_000);
});
