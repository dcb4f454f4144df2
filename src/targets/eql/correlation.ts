/**
 * Correlation rules on EQL: refused for every type, each with the reason (docs/targets/eql.md,
 * "Correlation rules"). EQL returns events and sequences, never a number computed over a window, and
 * its sequences are not the correlation's hits (docs/semantics.md section 8): a refusal names what
 * differs rather than deploy a rule that alerts on other events.
 */
import type { CorrelationType } from '../../model/types.js';
import type { CompileResult, CorrelationInput } from '../types.js';

const COUNT = 'EQL has no aggregation: a query returns events or sequences, never the number of events (or distinct values, sum, mean, percentile) in a window';

const REASONS: Record<CorrelationType, string> = {
  event_count: COUNT,
  value_count: COUNT,
  value_sum: COUNT,
  value_avg: COUNT,
  value_percentile: COUNT,
  value_median: COUNT,
  temporal:
    "EQL's unordered `sample by` takes no time span, and a `sequence` requires an order the temporal type does not",
  temporal_ordered:
    "EQL's `sequence by ... with maxspan` reports every completed sequence (a burst gives many, the correlation one hit until it re-arms), keeps one pending sequence per stage and key (a later event replaces an earlier one), and orders events of one timestamp by a tiebreaker (the correlation takes equal times as ordered)",
};

export function compileEqlCorrelation(input: CorrelationInput): CompileResult {
  const type = input.rule.correlation.type;
  return { ok: false, kind: 'unsupported', error: `${type} correlations are not compiled to EQL: ${REASONS[type]}` };
}
