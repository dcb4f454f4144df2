/**
 * The correlation examples of the Sigma specification (../shared/reference/sigma-spec/examples/) load
 * and run in the evaluator: each with stand-in detection rules for the ids and names it refers to
 * (an event matches a stand-in when its `Rule` field names it), over a stream made for it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadText, checkCollection } from '../../src/collection/load.js';
import { correlate } from '../../src/correlate/index.js';
import type { CorrelationRule } from '../../src/model/types.js';

const EXAMPLES = new URL('../../../shared/reference/sigma-spec/examples/', import.meta.url).pathname;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function collection(example: string) {
  const text = readFileSync(EXAMPLES + example, 'utf8');
  const docs = loadText(example, text);
  const refs = docs.flatMap((d) => (d.rule?.kind === 'correlation' ? d.rule.correlation.rules : []));
  const bases = refs.map((ref, i) =>
    loadText(`base${i}.yml`, `title: Stand-in ${ref}\n${UUID.test(ref) ? `id: ${ref}` : `name: ${ref}`}\nlogsource: {product: test}\ndetection:\n  selection: {Rule: '${ref}'}\n  condition: selection\n`),
  );
  const rules = [...docs, ...bases.flat()];
  checkCollection(rules);
  return { rules, correlation: docs[0]!.rule as CorrelationRule };
}

const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

describe('the Sigma specification examples run in the evaluator', () => {
  const cases: { file: string; events: (rule: CorrelationRule) => Record<string, unknown>[]; hits: unknown[] }[] = [
    {
      file: 'event_count.yml',
      events: (c) => Array.from({ length: 101 }, (_, i) => ({ '@timestamp': at(i), Rule: c.correlation.rules[0], ComputerName: 'pc1' })),
      hits: [{ group: { ComputerName: 'pc1' }, end: at(99), value: 100 }],
    },
    {
      file: 'event_count_ecs.yml',
      events: (c) => Array.from({ length: 100 }, (_, i) => ({ '@timestamp': at(i), Rule: c.correlation.rules[0], dns: { question: { name: i % 2 ? 'a.example' : 'b.example' } } })),
      hits: [],
    },
    {
      file: 'value_count.yml',
      events: (c) => Array.from({ length: 120 }, (_, i) => ({ '@timestamp': at(i), Rule: c.correlation.rules[0], ComputerName: 'pc1', WorkstationName: 'ws', User: `u${i % 110}` })),
      hits: [{ group: { ComputerName: 'pc1', WorkstationName: 'ws' }, end: at(99), value: 100 }],
    },
    {
      file: 'temporal.yml',
      events: () => ['recon_cmd_c', 'recon_cmd_a', 'recon_cmd_b'].map((r, i) => ({ '@timestamp': at(i * 60), Rule: r, ComputerName: 'pc1', User: 'bob' })),
      hits: [{ group: { ComputerName: 'pc1', User: 'bob' }, end: at(120), value: 3 }],
    },
    {
      file: 'temporal_ordered.yml',
      events: () => ['recon_cmd_c', 'recon_cmd_a', 'recon_cmd_b', 'recon_cmd_c'].map((r, i) => ({ '@timestamp': at(i * 60), Rule: r, ComputerName: 'pc1', User: 'bob' })),
      hits: [{ group: { ComputerName: 'pc1', User: 'bob' }, end: at(180), value: 3 }],
    },
    {
      file: 'value_avg.yml',
      events: () => [400, 700, 100].map((b, i) => ({ '@timestamp': at(i), Rule: 'rule_a_id', SourceIP: '10.0.0.1', User: 'bob', BytesOut: b })),
      hits: [{ group: { SourceIP: '10.0.0.1', User: 'bob' }, end: at(1), value: 550 }],
    },
    {
      file: 'value_sum.yml',
      events: () => [600000, '600000', 1].map((b, i) => ({ '@timestamp': at(i), Rule: 'website_access', SourceIP: '10.0.0.1', User: 'bob', bytes_sent: b })),
      hits: [{ group: { SourceIP: '10.0.0.1', User: 'bob' }, end: at(1), value: 1200000 }],
    },
  ];
  for (const c of cases) {
    it(c.file, () => {
      const { rules, correlation } = collection(c.file);
      expect(rules.flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error'))).toEqual([]);
      const hits = correlate(rules, c.events(correlation));
      expect(hits.map((h) => ({ group: h.group, end: new Date(h.window.end).toISOString(), value: h.value }))).toEqual(c.hits);
    });
  }

  it('value_percentile.yml is refused: it names no percentile (rulec asks for condition.percentile)', () => {
    const { rules } = collection('value_percentile.yml');
    expect(rules[0]!.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      "a value_percentile correlation needs 'condition.percentile', the percentile (above 0, up to 100) of condition.field whose value the condition compares, e.g. 'percentile: 95'",
    ]);
  });

  it('every example is covered', () => {
    expect(readdirSync(EXAMPLES).sort()).toEqual([...cases.map((c) => c.file), 'value_percentile.yml'].sort());
  });
});
