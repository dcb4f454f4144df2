import { describe, expect, it } from 'vitest';
import { progress } from '../../src/cli/progress.js';

function terminal(isTTY = true) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 120, write: (s: string) => (writes.push(s), true) } };
}

describe('progress', () => {
  it('draws nothing during the first second, then a bar with counts and elapsed time, and clears it', () => {
    let t = 0;
    const { writes, stream } = terminal();
    const bar = progress('compiling', stream as never, { now: () => t });
    bar.update(10, 100);
    t = 999;
    bar.update(20, 100);
    expect(writes).toEqual([]);
    t = 1500;
    bar.update(50, 100);
    expect(writes).toEqual(['\r\x1b[Kcompiling [###############...............] 50/100  1 s']);
    t = 1550;
    bar.update(60, 100); // within 100 ms of the last redraw
    bar.update(100, 100); // the end is always drawn
    expect(writes.at(-1)).toBe('\r\x1b[Kcompiling [##############################] 100/100  1 s');
    bar.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('counts the delay from the start of the command, so a later stage shows at once', () => {
    const { writes, stream } = terminal();
    const bar = progress('validating', stream as never, { since: 0, now: () => 5000 });
    bar.update(0, 3000);
    expect(writes).toEqual(['\r\x1b[Kvalidating [..............................] 0/3,000  5 s']);
  });

  it('writes nothing when stderr is not a terminal, and a quick command clears nothing', () => {
    const pipe = terminal(false);
    const bar = progress('x', pipe.stream as never, { since: 0, now: () => 9999 });
    bar.update(1, 2);
    bar.done();
    expect(pipe.writes).toEqual([]);
    const quick = terminal();
    const q = progress('x', quick.stream as never, { now: () => 0 });
    q.update(1, 2);
    q.done();
    expect(quick.writes).toEqual([]);
  });
});

describe('validators report progress', () => {
  it('per query (kusto, eql, spl) or per program of modules (ts)', async () => {
    const { loadTarget } = await import('../../src/targets/registry.js');
    const { loadPlatformMapping } = await import('../../src/config/mapping.js');
    const { load } = await import('../helpers/rules.js');
    const loaded = load('title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image: x}\n  condition: sel\n');
    const input = { path: 't.yml', rule: loaded.rule as never, ir: loaded.ir! };
    for (const [name, expected] of [['kusto', [0, 1, 2]], ['eql', [0, 1, 2]], ['spl', [0, 1, 2]], ['ts', [0]]] as const) {
      const target = await loadTarget(name);
      const platform = target.platforms[0]!;
      const opts = { platform, format: 'query', mapping: loadPlatformMapping(name, platform, []) };
      const r = target.compile(input, opts);
      if (!r.ok) throw new Error(r.error);
      const seen: number[] = [];
      const queries = [0, 1, 2].map((i) => ({ key: String(i), query: r.query, input }));
      const diags = await target.validate!(queries, opts, (d) => seen.push(d));
      expect([...diags.values()].flat(), name).toEqual([]);
      expect(seen, name).toEqual(expected);
    }
  }, 60_000);
});
