import fc from 'fast-check';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBatch, readEvents, readFileRange, splitEvents, type InputBatch, type ReadItem, type ReadLimits, DEFAULT_LIMITS } from '../../src/eval/reader.js';

async function read(input: string | Buffer, limits: ReadLimits = DEFAULT_LIMITS, chunk = 0): Promise<ReadItem[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const chunks: Buffer[] = [];
  if (chunk > 0) for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  else chunks.push(bytes);
  const out: ReadItem[] = [];
  await readEvents(chunks, (x) => out.push(x), limits);
  return out;
}

const brief = (items: ReadItem[]) => items.map((x) => (x.kind === 'event' ? `${x.line}:${JSON.stringify(x.event)}` : `${x.line}!${x.reason}`));

describe('JSON Lines', () => {
  it('reads one event a line, with line numbers, skipping blank lines, CRLF and a BOM', async () => {
    const items = await read('\ufeff{"a":1}\r\n\n  \n{"b":"x"}\n{"c":[1,2]}');
    expect(brief(items)).toEqual(['1:{"a":1}', '4:{"b":"x"}', '5:{"c":[1,2]}']);
  });

  it('reports malformed lines with their line and goes on', async () => {
    const items = await read('{"a":1}\n{"a":\n[1,2]\n"str"\nnull\n{"ok":true}\n');
    expect(brief(items)).toEqual([
      '1:{"a":1}',
      expect.stringMatching(/^2!invalid JSON: /),
      '3!not a JSON object (an array)',
      '4!not a JSON object (string)',
      '5!not a JSON object (null)',
      '6:{"ok":true}',
    ]);
  });

  it('skips an over-long line without keeping it, then reads on', async () => {
    const long = JSON.stringify({ x: 'y'.repeat(5000) });
    const items = await read(`{"a":1}\n${long}\n{"b":2}\n`, { maxEventBytes: 1000, maxDepth: 32 }, 64);
    expect(brief(items)).toEqual(['1:{"a":1}', expect.stringMatching(/^2!event longer than 1000 bytes/), '3:{"b":2}']);
  });

  it('takes a BOM only at the start of the input, also when the first line is over-long', async () => {
    const long = JSON.stringify({ x: 'y'.repeat(100) });
    const items = await read(`${long}\n\ufeff{"a":1}\n`, { maxEventBytes: 40, maxDepth: 32 });
    expect(brief(items)).toEqual([expect.stringMatching(/^1!event longer than 40 bytes/), expect.stringMatching(/^2!invalid JSON/)]);
  });

  it('refuses nesting deeper than the limit before parsing', async () => {
    const deep = '{"a":' + '['.repeat(100) + ']'.repeat(100) + '}';
    const items = await read(`${deep}\n{"a":[[["ok"]]]}\n{"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}\n`);
    expect(brief(items)).toEqual(['1!nested deeper than 32 levels', '2:{"a":[[["ok"]]]}', `3:{"s":"${'['.repeat(39)}"}`]);
  });

  it('replaces invalid UTF-8 by U+FFFD instead of failing', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('"}\n')]);
    const items = await read(bytes);
    expect(items).toEqual([{ kind: 'event', line: 1, event: { a: '\ufffd\ufffd(' } }]);
  });
});

describe('JSON arrays', () => {
  const pretty = `[
  {
    "a": "x]},{[\\"y",
    "n": [1, {"b": 2}]
  },
  {"c": 3}
  ,{"d": "é"}
]
`;

  it('reads the elements of an array, with the line each starts on', async () => {
    expect(brief(await read(pretty))).toEqual(['2:{"a":"x]},{[\\"y","n":[1,{"b":2}]}', '6:{"c":3}', '7:{"d":"é"}']);
    expect(brief(await read('[]'))).toEqual([]);
    expect(brief(await read('  [{"a":1}] [{"b":2}]'))).toEqual(['1:{"a":1}', '1:{"b":2}']);
  });

  it('gives the same result whatever the chunk size', async () => {
    const whole = brief(await read(pretty));
    for (const size of [1, 2, 3, 7, 16]) expect(brief(await read(pretty, DEFAULT_LIMITS, size))).toEqual(whole);
  });

  it('reports bad elements and broken structure, never failing', async () => {
    const items = brief(await read('[{"a":1}, {"b": }, 42, "s", {"c":2}'));
    expect(items).toEqual([
      '1:{"a":1}',
      expect.stringMatching(/^1!invalid JSON/),
      '1!not a JSON object (number)',
      '1!not a JSON object (string)',
      '1:{"c":2}',
      '1!unexpected end of input: the JSON array is not closed with ]',
    ]);
    expect(brief(await read('[{"a":1}] junk [{"b":2}]'))).toEqual(['1:{"a":1}', '1!text outside the JSON array (skipped up to the next [)', '1:{"b":2}']);
    expect(brief(await read('[{"a": "unterminated'))).toEqual([
      '1!unexpected end of input inside an array element',
      '1!unexpected end of input: the JSON array is not closed with ]',
    ]);
  });

  it('skips an over-long element', async () => {
    const items = brief(await read(`[{"a":"${'x'.repeat(3000)}"},{"b":1}]`, { maxEventBytes: 100, maxDepth: 32 }, 50));
    expect(items).toEqual([expect.stringMatching(/^1!event longer than 100 characters/), '1:{"b":1}']);
  });
});

describe('any chunking', () => {
  it('yields the same items as one chunk', async () => {
    const event = fc.dictionary(fc.constantFrom('a', 'b', '"', '[', '\\'), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxKeys: 3 });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 5 }), fc.boolean(), fc.integer({ min: 1, max: 9 }), async (events, asArray, size) => {
        const text = asArray ? JSON.stringify(events, null, 1) : events.map((e) => JSON.stringify(e)).join('\n');
        const one = await read(text);
        expect(await read(text, DEFAULT_LIMITS, size)).toEqual(one);
        expect(one.filter((x) => x.kind === 'event').map((x) => (x as { event: unknown }).event)).toEqual(events);
      }),
      { numRuns: 500 },
    );
  });
});

/** What the workers of a parallel scan read: the batches cut by splitEvents, each read by readBatch, in order. */
async function readSplit(input: string | Buffer, limits: ReadLimits = DEFAULT_LIMITS, chunk = 0): Promise<{ items: ReadItem[]; batches: InputBatch[] }> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const chunks: Buffer[] = [];
  if (chunk > 0) for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  else chunks.push(bytes);
  const batches: InputBatch[] = [];
  await splitEvents(chunks, (b) => void batches.push(b), limits);
  const items: ReadItem[] = [];
  for (const b of batches) readBatch(b, (x) => items.push(x), limits);
  return { items, batches };
}

describe('batches for scan workers (splitEvents, readBatch)', () => {
  const small: ReadLimits = { maxEventBytes: 40, maxDepth: 3 };
  const texts = [
    '\ufeff{"a":1}\r\n\n  \n{"b":"x"}\n{"c":[1,2]}',
    '\n\n\ufeff{"a":1}\n{"a":\n[1,2]\n"str"\nnull\n{"ok":true}\n',
    `{"a":1}\n{"x":"${'y'.repeat(100)}"}\n{"b":2}\n{"z":"${'y'.repeat(100)}"}`,
    '{"a":{"b":{"c":{"d":1}}}}\n{"e":"\u00e9"}\n',
    '\n\n  [ {"a":1},\n {"b":"]"}, 3, "x",\n {"c":\n [1]} ] junk [{"d":1}\n',
    `[{"x":"${'y'.repeat(100)}"},{"a":1}`,
    '',
    '\n\n',
  ];

  it('yield the items of readEvents, whatever the chunk size', async () => {
    for (const text of texts) {
      for (const limits of [DEFAULT_LIMITS, small]) {
        const one = await read(text, limits);
        for (const size of [0, 1, 2, 3, 7, 16, 64]) {
          expect((await readSplit(text, limits, size)).items, `${JSON.stringify(text)} in chunks of ${size}`).toEqual(size > 2 ? one : await read(text, limits, size));
        }
      }
    }
  });

  it('any input, any chunking: the same items as readEvents', async () => {
    const piece = fc.constantFrom('{"a":1}', '{"b":"x\\n]"}', '[', ']', ',', '\n', '\r\n', ' ', '\ufeff', '{', '"', 'null', `{"long":"${'y'.repeat(50)}"}`, '\u00e9');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 12 }), fc.integer({ min: 1, max: 9 }), async (pieces, size) => {
        const text = pieces.join('');
        // readEvents drops the blanks of leading chunks that are only blanks, which a JSON.parse message may quote: the same chunks for both.
        expect((await readSplit(text, small, size)).items).toEqual(await read(text, small, size));
      }),
      { numRuns: 500 },
    );
  });

  it('cut JSON Lines after whole lines, as bytes the batch owns (they are moved to a worker), and report an over-long line without keeping it', async () => {
    const text = `{"a":1}\n{"b":2}\n{"x":"${'y'.repeat(100)}"}\n{"c":3}`;
    const { batches } = await readSplit(text, small, 10);
    for (const b of batches) if (b.kind === 'lines') expect(b.bytes.byteLength).toBe(b.bytes.buffer.byteLength);
    const shown = batches.map((b) => (b.kind === 'lines' ? `${b.line}${b.first ? '^' : ''}:${Buffer.from(b.bytes).toString()}` : b.items.map((x) => `${x.line}${x.kind}`).join()));
    expect(shown).toEqual(['1^:{"a":1}\n', '2:{"b":2}\n', '3malformed', '4:{"c":3}']);
  });
});

/** A file read the way scan workers read it: ranges of `size` bytes, each's lines moved on by those of the ranges before. */
function readRanges(text: string | Buffer, size: number, limits: ReadLimits = DEFAULT_LIMITS): ReadItem[] {
  const file = join(mkdtempSync(join(tmpdir(), 'rulec-range-')), 'e.jsonl');
  writeFileSync(file, text);
  const bytes = Buffer.byteLength(text);
  const fd = openSync(file, 'r');
  const out: ReadItem[] = [];
  try {
    let base = 1;
    for (let start = 0; start < bytes; start += size) {
      const n = readFileRange(fd, start, Math.min(bytes, start + size), (x) => out.push({ ...x, line: x.line + base - 1 }), limits);
      base += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

describe('ranges of a JSON Lines file (readFileRange)', () => {
  it('together yield the items of readEvents, whatever the range size', async () => {
    const small: ReadLimits = { maxEventBytes: 40, maxDepth: 3 };
    const texts = [
      '\ufeff{"a":1}\r\n\n  \n{"b":"x"}\n{"c":[1,2]}',
      `{"a":1}\n{"x":"${'y'.repeat(100)}"}\n{"b":2}\n{"z":"${'y'.repeat(100)}"}`,
      '{"a":{"b":{"c":{"d":1}}}}\n\n\n{"e":"\u00e9"}\n',
      '\n\n{"a":1}\n',
    ];
    for (const text of texts) {
      for (const limits of [DEFAULT_LIMITS, small]) {
        const one = await read(text, limits);
        for (const size of [1, 2, 3, 5, 8, 13, 64, 1000]) expect(readRanges(text, size, limits), `${JSON.stringify(text)} in ranges of ${size}`).toEqual(one);
      }
    }
  });

  it('any lines, any range size: the same items as readEvents', async () => {
    const piece = fc.constantFrom('{"a":1}', '{"b":"x\\n]"}', ',', '\n', '\n', '\r\n', ' ', '{', '"', 'null', `{"long":"${'y'.repeat(50)}"}`, '\u00e9');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 12 }), fc.integer({ min: 1, max: 20 }), async (pieces, size) => {
        const text = 'x' + pieces.join('');
        expect(readRanges(text, size, { maxEventBytes: 40, maxDepth: 3 })).toEqual(await read(text, { maxEventBytes: 40, maxDepth: 3 }));
      }),
      { numRuns: 300 },
    );
  });

  it('reads lines longer than a read (1 MiB) across reads', async () => {
    const lines = [JSON.stringify({ a: 'x'.repeat(1_500_000) }), '{"b":1}', JSON.stringify({ c: 'é'.repeat(800_000) }), '{"d":2}'];
    const text = lines.join('\n') + '\n';
    const limits = { maxEventBytes: 4 << 20, maxDepth: 32 };
    expect(readRanges(text, 1 << 20, limits)).toEqual(await read(text, limits));
    expect(readRanges(text, 1 << 20, limits)).toHaveLength(4);
  });
});

describe('memory', () => {
  it('stays bounded on a large input (constant memory, not the file size)', async () => {
    const event = Buffer.from(JSON.stringify({ Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'x'.repeat(900) }) + ',\n');
    const total = 60_000; // about 56 MB of JSON array
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('[');
      const block = Buffer.concat(new Array(100).fill(event));
      for (let i = 0; i < total / 100; i++) yield block;
      yield Buffer.from('{}]');
    }
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    let n = 0;
    await readEvents(source(), (x) => {
      if (x.kind === 'event' && ++n % 5000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    });
    expect(n).toBe(total + 1);
    expect(peak).toBeLessThan(48 * 1024 * 1024);
  }, 120_000);
});
