import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/collection/load.js';
import type { Node } from '../../src/ir/types.js';
import { SIGMAHQ } from '../helpers/corpus.js';


/**
 * Rules of the SigmaHQ corpus that are genuinely invalid, with the reason. Empty: every one of the
 * 3,141 rules is valid Sigma v2.1 and must load.
 */
const KNOWN_INVALID = new Map<string, string>();

function countLeaves(n: Node, out: Map<string, number>): void {
  if (n.kind === 'and' || n.kind === 'or') n.children.forEach((c) => countLeaves(c, out));
  else if (n.kind === 'not') countLeaves(n.child, out);
  else out.set(n.kind, (out.get(n.kind) ?? 0) + 1);
}

describe.skipIf(!existsSync(SIGMAHQ))('SigmaHQ corpus', () => {
  const { rules, pathErrors } = loadCollection([SIGMAHQ]);

  it('has the 3,141 rules', () => {
    expect(pathErrors).toEqual([]);
    expect(rules).toHaveLength(3141);
  });

  it('every rule is valid and lowers to IR', () => {
    const invalid = rules
      .filter((r) => !KNOWN_INVALID.has(r.path))
      .filter((r) => !r.ir || r.diagnostics.some((d) => d.severity === 'error'))
      .map((r) => `${r.path}: ${r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('; ')}`);
    expect(invalid).toEqual([]);
  });

  it('the known-invalid list is still accurate', () => {
    for (const [path] of KNOWN_INVALID) {
      const r = rules.find((x) => x.path === path);
      expect(r?.diagnostics.some((d) => d.severity === 'error'), path).toBe(true);
    }
  });

  it('exercises the primitives the corpus needs', () => {
    const counts = new Map<string, number>();
    for (const r of rules) if (r.ir) countLeaves(r.ir, counts);
    // Every corpus-relevant primitive appears; a lowering regression that drops a kind shows here.
    for (const kind of ['str', 'glob', 'regex', 'cidr', 'num', 'null', 'fieldref', 'keyword']) {
      expect(counts.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  });
});
