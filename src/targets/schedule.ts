/**
 * The schedule a rule runs with on one target and product: the rule's `schedule`, overridden by the
 * values under the target's key (`kusto`, `eql`, `spl`), then by those under the product's key
 * (`sentinel`, `defender-xdr`). Each artifact format checks the result against what its product accepts.
 */
import type { DetectionRule, ScheduleScope, ScheduleTimes } from '../model/types.js';
import { TargetFailure, type CorrelationInput } from './types.js';

export function scheduleFor(rule: Pick<DetectionRule, 'schedule'>, target: string, product?: string): ScheduleTimes {
  const s = rule.schedule;
  if (!s) return {};
  const out: ScheduleTimes = {};
  for (const layer of [s, s.overrides[target as ScheduleScope], product ? s.overrides[product as ScheduleScope] : undefined]) {
    if (layer?.frequency !== undefined) out.frequency = layer.frequency;
    if (layer?.lookback !== undefined) out.lookback = layer.lookback;
  }
  return out;
}

/** `<n><s|m|h|d>` -> minutes; `continuous` (which only Defender XDR runs) fails for any other product. */
export function durationMinutes(d: string, what: string, product: string): number {
  if (d === 'continuous') {
    throw new TargetFailure('unsupported', `${what} continuous: ${product} runs rules at an interval; continuous runs are Defender XDR custom detections only (set it under schedule.defender-xdr)`);
  }
  const m = /^(\d+)([smhd])$/.exec(d);
  if (!m) throw new TargetFailure('unsupported', `${what} '${d}' is not <n><s|m|h|d>`);
  return Number(m[1]) * { s: 1 / 60, m: 1, h: 60, d: 1440 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * The timespans of a correlation and of the deepest chain of correlations it lists, added up
 * (seconds): a scheduled run must read that far back (twice, for the hit transition) for the hits
 * of its inner correlations near the start of its period to be those of an unbounded stream.
 */
export function chainSeconds(input: CorrelationInput): number {
  return input.rule.correlation.timespanSeconds + Math.max(0, ...input.refs.map((r) => ('ir' in r.input ? 0 : chainSeconds(r.input))));
}
