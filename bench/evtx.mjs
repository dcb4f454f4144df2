/**
 * Sysmon-shaped benchmark events from SigmaHQ's regression samples (evtx_dump JSON): flattened the
 * way rules see Windows events (System attributes as `Provider_Name`, EventData by name), then
 * varied so that repeated samples are not identical events.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `{Event: {System, EventData}}` -> flat Sigma field names. */
export function flattenEvtx(raw) {
  const ev = raw.Event ?? raw;
  const out = {};
  for (const [k, v] of Object.entries(ev.System ?? {})) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [a, x] of Object.entries(v['#attributes'] ?? {})) out[`${k}_${a}`] = x;
    } else out[k] = v;
  }
  return Object.assign(out, ev.EventData ?? {});
}

/** Every event of the `*.jsonl` files in `dir`, flattened, in file order. */
export function regressionEvents(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => flattenEvtx(JSON.parse(l))),
    );
}

/** `n` events cycling through `base`, with record ids, process ids, times, hosts and some command lines varied (seeded). */
export function variedEvents(base, n, seed = 1) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out = [];
  for (let i = 0; i < n; i++) {
    const e = { ...base[i % base.length] };
    if (typeof e.EventRecordID === 'number') e.EventRecordID += i;
    if ('ProcessId' in e) e.ProcessId = Math.floor(rand() * 65536);
    if ('Computer' in e) e.Computer = `host-${i % 500}.corp.example`;
    if (typeof e.UtcTime === 'string') e.UtcTime = e.UtcTime.replace(/:(\d\d)\./, (_, m) => `:${String((Number(m) + i) % 60).padStart(2, '0')}.`);
    if (typeof e.CommandLine === 'string' && rand() < 0.3) e.CommandLine += ` /arg${i % 97}`;
    if (typeof e.Image === 'string' && rand() < 0.2) e.Image = e.Image.toUpperCase();
    out.push(e);
  }
  return out;
}
