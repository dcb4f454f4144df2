/**
 * Time-part leaves (`UtcTime|hour|gte: 22`). SPL has no UTC calendar function: strftime formats in
 * the search head's time zone, and strptime's handling of offsets, leap seconds and day overflow is
 * not documented. So the timestamp is matched by a pattern and turned into UTC epoch seconds and a
 * civil date with integer arithmetic (H. Hinnant's days_from_civil / civil_from_days), reproducing
 * the evaluator (runtime/time.ts) exactly, including its quirks: JavaScript's Date.UTC maps years
 * 0-99 to 1900-1999 and lets day 31 of a short month run over into the next.
 *
 * The steps are `| eval rulec_<field>_<step>=...` helper fields (one eval command, removed again by
 * `| fields - rulec_*`); an eval computes one value per event, so a field with several values
 * gets no timestamp (the leaf is false) and every rule using a time part carries that note.
 */
import type { NumOp, TimePart } from '../../ir/types.js';
import type { EvalExpr } from './ast.js';
import type { PrintContext } from './printer.js';

const S = (value: string): EvalExpr => ({ k: 'str', value });
const N = (value: number): EvalExpr => ({ k: 'num', value });
const FLD = (name: string): EvalExpr => ({ k: 'field', name });
const call = (fn: string, ...args: EvalExpr[]): EvalExpr => ({ k: 'call', fn, args });
// Arithmetic on two literals is folded here (the 1 January of daysFromCivil is a constant).
const lit = (e: EvalExpr): number | undefined => (e.k === 'num' ? e.value : undefined);
function arith(op: '+' | '-' | '*' | '/', a: EvalExpr, b: EvalExpr): EvalExpr {
  const x = lit(a);
  const y = lit(b);
  if (x !== undefined && y !== undefined && op !== '/') return N(op === '+' ? x + y : op === '-' ? x - y : x * y);
  return { k: 'arith', op, left: a, right: b };
}
const add = (a: EvalExpr, b: EvalExpr): EvalExpr => arith('+', a, b);
const sub = (a: EvalExpr, b: EvalExpr): EvalExpr => arith('-', a, b);
const mul = (a: EvalExpr, b: EvalExpr): EvalExpr => arith('*', a, b);
const div = (a: EvalExpr, b: EvalExpr): EvalExpr => arith('/', a, b);
const fdiv = (a: EvalExpr, b: number): EvalExpr => {
  const x = lit(a);
  return x !== undefined ? N(Math.floor(x / b)) : call('floor', div(a, N(b)));
};
const CMP = { '==': (x: number, y: number) => x === y, '<': (x: number, y: number) => x < y, '<=': (x: number, y: number) => x <= y, '>': (x: number, y: number) => x > y, '>=': (x: number, y: number) => x >= y };
const cmp = (op: '==' | '<' | '<=' | '>' | '>=', a: EvalExpr, b: EvalExpr): EvalExpr => {
  const x = lit(a);
  const y = lit(b);
  if (x !== undefined && y !== undefined) return call(CMP[op](x, y) ? 'true' : 'false');
  return { k: 'cmp', op, left: a, right: b };
};
const iff = (c: EvalExpr, a: EvalExpr, b: EvalExpr): EvalExpr => (c.k === 'call' && (c.fn === 'true' || c.fn === 'false') ? (c.fn === 'true' ? a : b) : call('if', c, a, b));
/** a + b + ... - (each of `minus`). */
const sum = (plus: EvalExpr[], minus: EvalExpr[] = []): EvalExpr => minus.reduce((acc, m) => sub(acc, m), plus.reduce((a, b) => add(a, b)));

/** ECMAScript `\s`, the evaluator's separator before the zone. */
const JS_SPACE = '[\\x{9}-\\x{D} \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]';

/**
 * The evaluator's timestamp syntax with its range checks folded in: ISO 8601 or the Sysmon form,
 * month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60, zone Z or +hh[[:]mm].
 */
export const TIMESTAMP =
  '^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]' +
  `(?::(?:[0-5][0-9]|60)(?:\\.[0-9]{1,9})?)?${JS_SPACE}*(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?\\z`;
const ZONE = '[+-][0-9]{2}(?::?[0-9]{2})?';

export const TIME_NOTE = 'time-part conditions read fields with one value: an event whose timestamp field has several values does not match them';

type Def = (step: string, expr: EvalExpr) => EvalExpr;

/** days_from_civil: days from 1970-01-01 (floor division throughout). */
function daysFromCivil(def: Def, tag: string, y: EvalExpr, m: EvalExpr, d: EvalExpr): EvalExpr {
  const y2 = def(`${tag}y2`, sub(y, iff(cmp('<=', m, N(2)), N(1), N(0))));
  const era = def(`${tag}era0`, fdiv(y2, 400));
  const yoe = def(`${tag}yoe0`, sub(y2, mul(era, N(400))));
  const doy = sub(add(fdiv(add(mul(N(153), iff(cmp('>', m, N(2)), sub(m, N(3)), add(m, N(9)))), N(2)), 5), d), N(1));
  const doe = sum([mul(yoe, N(365)), fdiv(yoe, 4), doy], [fdiv(yoe, 100)]);
  return sub(add(mul(era, N(146097)), doe), N(719468));
}

/** civil_from_days as helper steps; returns the year, month and day fields. */
function civil(def: Def, tag: string, days: EvalExpr): { year: EvalExpr; month: EvalExpr; day: EvalExpr } {
  const z = def(`${tag}z`, add(days, N(719468)));
  const era = def(`${tag}era`, fdiv(z, 146097));
  const doe = def(`${tag}doe`, sub(z, mul(era, N(146097))));
  const yoe = def(`${tag}yoe`, fdiv(sum([doe, fdiv(doe, 36524)], [fdiv(doe, 1460), fdiv(doe, 146096)]), 365));
  const doy = def(`${tag}doy`, sub(doe, sum([mul(N(365), yoe), fdiv(yoe, 4)], [fdiv(yoe, 100)])));
  const mp = def(`${tag}mp`, fdiv(add(mul(N(5), doy), N(2)), 153));
  const day = def(`${tag}day`, add(sub(doy, fdiv(add(mul(N(153), mp), N(2)), 5)), N(1)));
  const month = def(`${tag}month`, iff(cmp('<', mp, N(10)), add(mp, N(3)), sub(mp, N(9))));
  const year = def(`${tag}year`, sum([yoe, mul(era, N(400)), iff(cmp('<=', month, N(2)), N(1), N(0))]));
  return { year, month, day };
}

/** The helper steps up to the epoch seconds of the field (null when it is not one timestamp). */
function epoch(def: Def, field: string): EvalExpr {
  const f = FLD(field);
  const text = def('text', iff({ k: 'and', items: [cmp('==', call('mvcount', f), N(1)), call('match', f, S(TIMESTAMP))] }, f, call('null')));
  const num = (start: number, len: number): EvalExpr => call('tonumber', call('substr', text, N(start), N(len)));
  const y = def('y', num(1, 4));
  const year = def('year0', iff(cmp('<', y, N(100)), add(y, N(1900)), y));
  const month = def('month0', num(6, 2));
  const seconds = iff(cmp('==', call('substr', text, N(17), N(1)), S(':')), num(18, 2), N(0));
  // Offset in minutes: +hh, +hhmm or +hh:mm at the end; Z or nothing is UTC.
  const zone = def('zone', iff(call('match', text, S(`${ZONE}\\z`)), call('replace', text, S(`(?s)^.*(${ZONE})\\z`), S('\\1')), S('+00')));
  const zoneMinutes = add(mul(call('tonumber', call('substr', zone, N(2), N(2))), N(60)), iff(cmp('>', call('len', zone), N(3)), call('tonumber', call('substr', zone, sub(call('len', zone), N(1)), N(2))), N(0)));
  const offset = def('offset', iff(cmp('==', call('substr', zone, N(1), N(1)), S('-')), mul(N(-1), zoneMinutes), zoneMinutes));
  const days = daysFromCivil(def, '', year, month, num(9, 2));
  return def('epoch', sum([mul(days, N(86400)), mul(num(12, 2), N(3600)), mul(num(15, 2), N(60)), seconds], [mul(offset, N(60))]));
}

function part(def: Def, field: string, p: TimePart): EvalExpr {
  const e = epoch(def, field);
  switch (p) {
    case 'minute':
      return def('minute', sub(fdiv(e, 60), mul(N(60), fdiv(e, 3600))));
    case 'hour':
      return def('hour', sub(fdiv(e, 3600), mul(N(24), fdiv(e, 86400))));
    case 'day':
    case 'month':
    case 'year':
      return civil(def, '', def('days', fdiv(e, 86400)))[p];
    case 'week': {
      // ISO 8601: the week of the Thursday of the date's Monday-based week, counted from that year's 1 January.
      const d = def('days', fdiv(e, 86400));
      const weekday = sub(add(d, N(3)), mul(N(7), fdiv(add(d, N(3)), 7))); // Monday 0 .. Sunday 6
      const thursday = def('thursday', add(sub(d, weekday), N(3)));
      const ty = civil(def, 'th_', thursday).year;
      return def('week', add(fdiv(sub(thursday, daysFromCivil(def, 'jan1_', ty, N(1), N(1))), 7), N(1)));
    }
  }
}

const OPS = { eq: '==', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

/** The field's timestamp exists and its UTC part compares to the literal (two-valued: false without one). */
export function timePartTest(ctx: PrintContext, field: string, p: TimePart, op: NumOp, value: number): EvalExpr {
  const base = `rulec_${field.replace(/[^A-Za-z0-9_]/g, '_')}_`;
  const def: Def = (step, expr) => {
    const name = base + step;
    if (!ctx.evals.has(name)) ctx.evals.set(name, { name, expr });
    return FLD(name);
  };
  ctx.notes.add(TIME_NOTE);
  const v = part(def, field, p);
  return { k: 'and', items: [call('isnotnull', v), cmp(OPS[op], v, N(value))] };
}
