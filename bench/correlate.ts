/**
 * `npm run bench` (last step), or `node dist-bench/correlate.js [--events N] [--groups G]`: the
 * streaming correlation engine alone, fed 1,000,000 matches in time order spread over 100,000 groups
 * (one match a millisecond: every group has a match every 100 s, about three in each 5-minute
 * window, so all groups stay active), for each correlation type. Prints matches per second, hits,
 * the groups held at the end and the peak RSS. Each type runs in a fresh engine; the peak RSS is
 * the process's, so it only grows from one type to the next; with --expose-gc (as npm runs it) the
 * live heap after a collection at the end of each stream is printed too.
 */
import { CorrelationEngine, type CorrelationKind, type CorrelationSpec } from '../dist/correlate/engine.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} takes a whole number`);
  return v;
}

const EVENTS = arg('events', 1_000_000);
const GROUPS = arg('groups', 100_000);
const T0 = Date.UTC(2026, 11, 7);

function spec(type: CorrelationKind): CorrelationSpec {
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  const s: CorrelationSpec = {
    key: type,
    type,
    refs: temporal ? ['a', 'b'] : ['a'],
    refNames: temporal ? [['a'], ['b']] : [['a']],
    groupBy: ['host'],
    aliases: {},
    timespan: 300_000,
    condition: temporal ? [] : [{ op: 'gte', value: type === 'value_sum' ? 3000 : type === 'value_avg' || type === 'value_median' || type === 'value_percentile' ? 900 : 3 }],
  };
  if (!temporal && type !== 'event_count') s.field = type === 'value_count' ? 'user' : 'bytes';
  if (type === 'value_percentile') s.percentile = 90;
  return s;
}

const rssMb = (): number => process.resourceUsage().maxRSS / 1024;

function run(type: CorrelationKind): void {
  const engine = new CorrelationEngine<{ host: string; user: string; bytes: number }>([spec(type)], { field: (e, n) => e[n as 'host'] });
  const hosts = Array.from({ length: GROUPS }, (_, i) => `host${i}`);
  let hits = 0;
  let x = 12345;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) {
    // A cheap deterministic generator: users and byte counts vary, hosts go round.
    x = (x * 1103515245 + 12345) >>> 0;
    const event = { host: hosts[i % GROUPS]!, user: `u${x % 7}`, bytes: x % 2000 };
    const rule = type === 'temporal' || type === 'temporal_ordered' ? (x & 1 ? 'a' : 'b') : 'a';
    hits += engine.push({ rule, event, time: T0 + i, position: i }).length;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  // The engine's state at the end of the stream (every group active), as live heap: RSS also holds garbage V8 has not returned.
  const heap = gc ? `  live heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB` : '';
  hits += engine.flush().length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const c = process.cpuUsage(cpu);
  const cpuSeconds = (c.user + c.system) / 1e6;
  console.log(
    `${type.padEnd(17)} ${Math.round(EVENTS / seconds).toLocaleString('en').padStart(10)} matches/s  ` +
      `${Math.round(EVENTS / cpuSeconds).toLocaleString('en').padStart(10)} /CPU-s  ` +
      `${hits.toLocaleString('en').padStart(8)} hits  ${engine.activeGroups().toLocaleString('en').padStart(7)} groups held  peak RSS ${rssMb().toFixed(0)} MB${heap}`,
  );
}

console.log(`correlation engine: ${EVENTS.toLocaleString('en')} matches in time order, ${GROUPS.toLocaleString('en')} groups, 5-minute windows (one thread)`);
console.log(`peak RSS before      ${rssMb().toFixed(0)} MB`);
for (const type of ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum', 'value_avg', 'value_percentile', 'value_median'] as const) run(type);
