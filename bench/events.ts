/**
 * Sysmon-shaped benchmark events: the SigmaHQ regression samples (real evtx_dump output) with
 * their identifying values varied, so that no two events are the same text: record ids, times,
 * process ids and GUIDs, hosts, users (also inside paths), and hashes. A fixed seed makes every
 * run scan the same events.
 */
import { readdirSync, readFileSync } from 'node:fs';

type Json = Record<string, unknown>;

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The regression samples (one evtx_dump event a line in each `*.jsonl`). */
export function loadSamples(dir: string): Json[] {
  const out: Json[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) if (line.trim()) out.push(JSON.parse(line) as Json);
  }
  if (out.length === 0) throw new Error(`no samples in ${dir}`);
  return out;
}

const HEX = '0123456789ABCDEF';

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(rand() * 16)];
  return s;
}

function guid(rand: () => number): string {
  return `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`;
}

/** Yields `count` events as JSON lines. */
export function* benchEvents(samples: readonly Json[], count: number, seed = 1): Generator<string> {
  const rand = prng(seed);
  const base = Date.UTC(2026, 0, 5, 8, 0, 0);
  for (let i = 0; i < count; i++) {
    const sample = samples[Math.floor(rand() * samples.length)]!;
    const ev = structuredClone(sample) as { Event: { System: Json; EventData: Json } };
    const sys = ev.Event.System;
    const data = ev.Event.EventData;
    const when = new Date(base + i * 37 + Math.floor(rand() * 1000));
    const iso = when.toISOString();
    sys.EventRecordID = 100_000 + i;
    sys.TimeCreated = { '#attributes': { SystemTime: iso.replace('Z', '000Z') } };
    sys.Execution = { '#attributes': { ProcessID: 1000 + Math.floor(rand() * 9000), ThreadID: 1000 + Math.floor(rand() * 9000) } };
    const host = `ws-${Math.floor(rand() * 800)}`;
    sys.Computer = `${host}.corp.example`;
    const user = `user${Math.floor(rand() * 5000)}`;
    for (const [k, v] of Object.entries(data)) {
      if (typeof v === 'number' && /ProcessId$/.test(k)) data[k] = 100 + Math.floor(rand() * 60_000);
      else if (typeof v !== 'string') continue;
      else if (/Guid$/.test(k)) data[k] = guid(rand);
      else if (k === 'UtcTime' || k === 'CreationUtcTime') data[k] = iso.replace('T', ' ').replace('Z', '');
      else if (k === 'User' || k === 'ParentUser') data[k] = v.includes('\\') && !v.startsWith('NT AUTHORITY') ? `CORP\\${user}` : v;
      else if (k === 'Hashes') data[k] = v.replace(/=([0-9A-Fa-f]+)/g, (_m, h: string) => `=${hex(rand, h.length)}`);
      else data[k] = v.replace(/\\Users\\(?!Public\\|Default\\|All Users\\)[^\\]+\\/gi, `\\Users\\${user}\\`);
    }
    yield JSON.stringify(ev);
  }
}
