/**
 * Streaming event input for `rulec scan`: JSON Lines (one event a line) or a JSON array of events,
 * told apart by the first non-blank character (`[` = array). Memory stays constant whatever the
 * input size: lines are split on bytes and array elements are cut out by a small scanner, one
 * event at a time, never the whole file in memory.
 *
 * Hostile input is bounded: an event longer than `maxEventBytes` is skipped without being
 * buffered, nesting deeper than `maxDepth` is refused before JSON.parse sees it, invalid UTF-8
 * becomes U+FFFD. A bad event is reported (file line, reason) and reading goes on: nothing in the
 * input is fatal.
 */
import { readSync } from 'node:fs';
import type { JsonObject } from './event.js';

export interface ReadLimits {
  /** Longest event text accepted (bytes of a JSON line; characters of an array element). */
  maxEventBytes: number;
  /** Deepest nesting of objects and arrays accepted in one event. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: ReadLimits = { maxEventBytes: 1 << 20, maxDepth: 32 };

/**
 * How much of a file to read at a time. Each read is a round trip through libuv's thread pool that
 * the scan waits for; with 64 KiB reads (45 bench events each) that wait cost 3 to 4 microseconds
 * an event, with 1 MiB reads it is lost in the noise. Memory stays bounded by this plus one event.
 */
export const READ_CHUNK_BYTES = 1 << 20;

export type ReadItem =
  | { kind: 'event'; line: number; event: JsonObject }
  | { kind: 'malformed'; line: number; reason: string };

export type ReadSink = (item: ReadItem) => void;

/** An event's text not parsed yet (cut out on the reading thread, parsed by a scan worker). */
export type RawItem = { kind: 'text'; line: number; text: string } | { kind: 'malformed'; line: number; reason: string };

/**
 * A piece of input for a scan worker, in input order: whole lines as bytes (JSON Lines: the worker
 * decodes and parses them), or events already cut out of a JSON array (and malformed-event reports
 * the reading thread made itself).
 */
export type InputBatch =
  | { kind: 'lines'; /** Line number of the first line. */ line: number; /** Whether the batch starts the input (a BOM is dropped). */ first: boolean; bytes: Uint8Array }
  | { kind: 'items'; items: RawItem[] };

/**
 * Read every event of a byte stream; `sink` is called synchronously, in input order. `stop` is
 * asked after each chunk: when it says so, reading ends there (the partial last event is dropped,
 * not reported).
 */
export async function readEvents(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: ReadSink,
  limits: ReadLimits = DEFAULT_LIMITS,
  stop?: () => boolean,
): Promise<void> {
  let reader: LineReader | ArrayReader | PendingReader | undefined;
  for await (const chunk of source) {
    if (stop?.()) return;
    const buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!reader) {
      const mode = detect(buf);
      if (mode === undefined) {
        // Only blanks so far: keep them (line numbers) and decide on a later chunk.
        reader = new PendingReader(sink, limits);
        (reader as PendingReader).push(buf);
        continue;
      }
      reader = mode === 'array' ? parsingArrayReader(sink, limits) : new LineReader(sink, limits);
    } else if (reader instanceof PendingReader) {
      const mode = detect(buf);
      if (mode === undefined) {
        reader.push(buf);
        continue;
      }
      reader = reader.become(mode === 'array' ? parsingArrayReader(sink, limits) : new LineReader(sink, limits));
    }
    reader.push(buf);
  }
  if (stop?.()) return;
  reader?.end();
}

/** Read events from an in-memory text (tests, inline use). */
export async function readEventsFromText(text: string, sink: ReadSink, limits: ReadLimits = DEFAULT_LIMITS): Promise<void> {
  await readEvents([Buffer.from(text, 'utf8')], sink, limits);
}

/**
 * Cut a byte stream into batches for scan workers, each handed to `onBatch` (awaited: that is the
 * back-pressure) in input order. JSON Lines are cut after the last newline of each chunk read, so
 * the reading thread only looks for newline bytes; the lines are decoded and parsed where they are
 * evaluated. A JSON array is cut into its elements here (finding where one ends means reading every
 * character), which the workers parse. Line numbers, BOM, blank lines and the limits are those of
 * readEvents: the events and reports are the same, only parsed elsewhere. A line longer than
 * `maxEventBytes` is reported here without being kept.
 */
export async function splitEvents(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onBatch: (batch: InputBatch) => void | Promise<void>,
  limits: ReadLimits = DEFAULT_LIMITS,
  stop?: () => boolean,
): Promise<void> {
  let mode: 'array' | 'lines' | undefined;
  let line = 1;
  let sent = false;
  // Lines: the unfinished last line of the chunks so far.
  let carry: Buffer[] = [];
  let carrySize = 0;
  let skipping = false;
  // Arrays: the elements cut out of the current chunk.
  let items: RawItem[] = [];
  let array: ArrayReader | undefined;
  const lines = async (bytes: Buffer): Promise<void> => {
    const own = new Uint8Array(bytes.length);
    own.set(bytes);
    // Like LineReader's: only the input's first line may start with a BOM (not one after leading blank lines).
    const batch: InputBatch = { kind: 'lines', line, first: !sent && line === 1, bytes: own };
    line += countNewlines(bytes);
    sent = true;
    await onBatch(batch);
  };
  const oversize = async (): Promise<void> => {
    sent = true;
    await onBatch({ kind: 'items', items: [{ kind: 'malformed', line: line++, reason: oversizeLine(limits) }] });
  };
  for await (const chunk of source) {
    if (stop?.()) return;
    let buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (mode === undefined) {
      mode = detect(buf);
      if (mode === undefined) {
        // Only blanks so far: they count as lines, whatever the format turns out to be.
        line += countNewlines(buf);
        continue;
      }
      if (mode === 'array') {
        array = new ArrayReader((item) => items.push(item as RawItem), limits, true);
        array.push(Buffer.alloc(line - 1, 0x0a));
      }
    }
    if (array) {
      array.push(buf);
      if (items.length > 0) {
        const batch = items;
        items = [];
        await onBatch({ kind: 'items', items: batch });
      }
      continue;
    }
    if (skipping) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) continue;
      skipping = false;
      await oversize();
      buf = buf.subarray(nl + 1);
    }
    const last = buf.lastIndexOf(0x0a);
    if (last < 0) {
      carry.push(buf);
      carrySize += buf.length;
    } else {
      await lines(carrySize > 0 ? Buffer.concat([...carry, buf.subarray(0, last + 1)]) : buf.subarray(0, last + 1));
      carry = [buf.subarray(last + 1)];
      carrySize = buf.length - last - 1;
    }
    if (carrySize > limits.maxEventBytes) {
      skipping = true;
      carry = [];
      carrySize = 0;
    }
  }
  if (stop?.()) return;
  if (array) {
    array.end();
    if (items.length > 0) await onBatch({ kind: 'items', items });
  } else if (skipping) await oversize();
  else if (carrySize > 0) await lines(Buffer.concat(carry, carrySize));
}

/** Read the events of one batch of splitEvents (on the worker that evaluates them). */
export function readBatch(batch: InputBatch, sink: ReadSink, limits: ReadLimits = DEFAULT_LIMITS): void {
  if (batch.kind === 'lines') {
    const reader = new LineReader(sink, limits, batch.line, batch.first);
    const b = batch.bytes;
    reader.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    reader.end();
    return;
  }
  for (const item of batch.items) {
    if (item.kind === 'malformed') {
      sink(item);
      continue;
    }
    const r = parseEvent(item.text, limits);
    sink('event' in r ? { kind: 'event', line: item.line, event: r.event } : { kind: 'malformed', line: item.line, reason: r.reason });
  }
}

/**
 * Read the JSON Lines that start in bytes [start, end) of an open file (a line starts at 0 and
 * after each newline): the unit a scan worker reads by itself, so that the main thread touches no
 * byte of the file. A line that starts in the range is read to its end, past `end` if need be (an
 * over-long one without being kept); one that started before is left to the range where it
 * started. Line numbers count from 1 at the range's first line (the caller adds the lines of the
 * ranges before). Returns how many lines start in the range.
 */
export function readFileRange(fd: number, start: number, end: number, sink: ReadSink, limits: ReadLimits = DEFAULT_LIMITS): number {
  // Finding the first line's start and the last line's end read a little at a time: a line is
  // about a kilobyte, and reading a whole 1 MiB more at each end tripled the reading.
  const EDGE = 1 << 16;
  let pos = start;
  if (start > 0) {
    // The first line starts after the first newline at or after start - 1.
    const buf = Buffer.allocUnsafe(EDGE);
    pos = start - 1;
    for (;;) {
      const n = readSync(fd, buf, 0, Math.min(EDGE, end - pos), pos);
      if (n <= 0) return 0;
      const nl = buf.subarray(0, n).indexOf(0x0a);
      if (nl >= 0) {
        pos += nl + 1;
        break;
      }
      pos += n;
      if (pos >= end) return 0;
    }
    if (pos >= end) return 0;
  }
  const reader = new LineReader(sink, limits, 1, start === 0);
  let last = -1;
  for (;;) {
    // In the range, then past it only to the newline that ends the line under way.
    if (pos >= end && last === 0x0a) return reader.lines();
    // LineReader keeps a view of the unfinished line: each read needs a buffer of its own.
    const buf = Buffer.allocUnsafe(pos < end ? Math.min(READ_CHUNK_BYTES, end - pos) : EDGE);
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    if (pos < end) {
      reader.push(buf.subarray(0, n));
      last = buf[n - 1]!;
      pos += n;
      continue;
    }
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl >= 0) {
      reader.push(buf.subarray(0, nl + 1));
      return reader.lines();
    }
    reader.push(buf.subarray(0, n));
    pos += n;
  }
  reader.end();
  return reader.lines();
}

function oversizeLine(limits: ReadLimits): string {
  return `event longer than ${limits.maxEventBytes} bytes (skipped; raise --max-event-bytes to read it)`;
}

/** An ArrayReader that parses elements: it never hands over a RawItem text, so a ReadSink takes all it gives. */
function parsingArrayReader(sink: ReadSink, limits: ReadLimits): ArrayReader {
  return new ArrayReader(sink as (item: ReadItem | RawItem) => void, limits);
}

/** 'array', 'lines', or undefined when the chunk is only blanks (and a BOM). */
export function detect(buf: Buffer): 'array' | 'lines' | undefined {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x5b ? 'array' : 'lines';
  }
  return undefined;
}

/** Holds the leading blank chunks until the format is known. */
class PendingReader {
  private chunks: Buffer[] = [];
  constructor(
    readonly sink: ReadSink,
    readonly limits: ReadLimits,
  ) {}
  push(buf: Buffer): void {
    // Blank chunks only: bounded by keeping their newlines, not their bytes.
    const newlines = countNewlines(buf);
    this.chunks.push(Buffer.alloc(newlines, 0x0a));
  }
  become<T extends LineReader | ArrayReader>(r: T): T {
    for (const c of this.chunks) r.push(c);
    return r;
  }
  end(): void {}
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Parse one event's JSON text, or say why it is not an event. */
function parseEvent(text: string, limits: ReadLimits): { event: JsonObject } | { reason: string } {
  const depth = nestingDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) return { reason: `nested deeper than ${limits.maxDepth} levels` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { reason: `not a JSON object (${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v})` };
  }
  return { event: v as JsonObject };
}

/**
 * Nesting depth of a JSON text, stopping once past `limit`. Cheap when the text has few brackets
 * (the usual case): then the depth cannot exceed their count.
 */
function nestingDepth(text: string, limit: number): number {
  let brackets = 0;
  for (let i = text.indexOf('{'); i >= 0 && brackets <= limit; i = text.indexOf('{', i + 1)) brackets++;
  for (let i = text.indexOf('['); i >= 0 && brackets <= limit; i = text.indexOf('[', i + 1)) brackets++;
  if (brackets <= limit) return brackets;
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** JSON Lines: split on newline bytes; an over-long line is skipped without being kept. */
class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private oversize = false;

  constructor(
    private readonly sink: ReadSink,
    private readonly limits: ReadLimits,
    private line = 1,
    private first = true,
  ) {}

  push(buf: Buffer): void {
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      if (this.size === 0 && !this.oversize && nl - start <= this.limits.maxEventBytes) {
        // The whole line is in this chunk (the usual case): decoded in place, no Buffer view made.
        this.emit(this.line++, buf.toString('utf8', start, nl));
      } else {
        this.take(buf.subarray(start, nl));
        this.finishLine();
      }
      start = nl + 1;
    }
    if (start < buf.length) this.take(buf.subarray(start));
  }

  end(): void {
    if (this.size > 0 || this.oversize) this.finishLine();
  }

  /** Lines finished so far. */
  lines(): number {
    return this.line - 1;
  }

  private take(piece: Buffer): void {
    if (this.oversize || piece.length === 0) return;
    if (this.size + piece.length > this.limits.maxEventBytes) {
      this.oversize = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(piece);
    this.size += piece.length;
  }

  private finishLine(): void {
    const line = this.line++;
    if (this.oversize) {
      this.oversize = false;
      // A BOM can only start the input: not the line after an over-long first one.
      this.first = false;
      this.sink({ kind: 'malformed', line, reason: oversizeLine(this.limits) });
      return;
    }
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.emit(line, bytes.toString('utf8'));
  }

  private emit(line: number, text: string): void {
    if (this.first) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (onlyBlanks(text)) return;
    const r = parseEvent(text, this.limits);
    this.sink('event' in r ? { kind: 'event', line, event: r.event } : { kind: 'malformed', line, reason: r.reason });
  }
}

const enum State {
  BeforeArray,
  BetweenElements,
  InElement,
  AfterArray,
}

/**
 * A JSON array of events, possibly several arrays one after the other. The scanner tracks strings
 * and bracket depth to find where each element ends; JSON.parse then reads the element alone.
 */
class ArrayReader {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  private state = State.BeforeArray;
  private line = 1;
  // The current element.
  private parts: string[] = [];
  private size = 0;
  private oversize = false;
  private elementLine = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  private garbageReported = false;

  constructor(
    private readonly sink: (item: ReadItem | RawItem) => void,
    private readonly limits: ReadLimits,
    /** Hand each element's text over unparsed (splitEvents). */
    private readonly raw = false,
  ) {}

  push(buf: Buffer): void {
    this.scan(this.decoder.decode(buf, { stream: true }));
  }

  end(): void {
    this.scan(this.decoder.decode());
    if (this.state === State.InElement) {
      if (this.scalar && !this.inString) this.finishElement();
      else this.sink({ kind: 'malformed', line: this.elementLine, reason: 'unexpected end of input inside an array element' });
    }
    if (this.state === State.InElement || this.state === State.BetweenElements) {
      this.sink({ kind: 'malformed', line: this.line, reason: 'unexpected end of input: the JSON array is not closed with ]' });
    }
  }

  private scan(text: string): void {
    // Where the current element's text starts in this chunk (0 when it began in an earlier one).
    let elemStart = this.state === State.InElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) this.line++;
      switch (this.state) {
        case State.BeforeArray:
        case State.AfterArray:
          if (c === 0x5b) {
            this.state = State.BetweenElements;
            this.garbageReported = false;
          } else if (!isBlank(c) && c !== 0xfeff && !this.garbageReported) {
            this.garbageReported = true;
            this.sink({ kind: 'malformed', line: this.line, reason: 'text outside the JSON array (skipped up to the next [)' });
          }
          break;
        case State.BetweenElements:
          if (isBlank(c) || c === 0x2c) break;
          if (c === 0x5d) {
            this.state = State.AfterArray;
            break;
          }
          this.startElement(c);
          elemStart = i;
          break;
        case State.InElement:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === 0x5c) this.escaped = true;
            else if (c === 0x22) {
              this.inString = false;
              if (this.scalar && this.depth === 0) {
                this.append(text, elemStart, i + 1);
                elemStart = -1;
                this.finishElement();
              }
            }
            break;
          }
          if (this.scalar && this.depth === 0) {
            if (c === 0x2c || c === 0x5d || isBlank(c)) {
              this.append(text, elemStart, i);
              elemStart = -1;
              this.finishElement();
              if (c === 0x5d) this.state = State.AfterArray;
              break;
            }
            if (c === 0x22) this.inString = true;
            break;
          }
          if (c === 0x22) this.inString = true;
          else if (c === 0x7b || c === 0x5b) this.depth++;
          else if (c === 0x7d || c === 0x5d) {
            if (--this.depth === 0) {
              this.append(text, elemStart, i + 1);
              elemStart = -1;
              this.finishElement();
            }
          }
          break;
      }
    }
    if (this.state === State.InElement && elemStart >= 0) this.append(text, elemStart, text.length);
  }

  private startElement(c: number): void {
    this.state = State.InElement;
    this.elementLine = this.line;
    this.parts = [];
    this.size = 0;
    this.oversize = false;
    this.escaped = false;
    this.scalar = c !== 0x7b && c !== 0x5b;
    this.depth = this.scalar ? 0 : 1;
    this.inString = c === 0x22;
  }

  private append(text: string, from: number, to: number): void {
    if (this.oversize || to <= from) return;
    if (this.size + (to - from) > this.limits.maxEventBytes) {
      this.oversize = true;
      this.parts = [];
      return;
    }
    this.parts.push(text.slice(from, to));
    this.size += to - from;
  }

  private finishElement(): void {
    this.state = State.BetweenElements;
    const line = this.elementLine;
    if (this.oversize) {
      this.sink({ kind: 'malformed', line, reason: `event longer than ${this.limits.maxEventBytes} characters (skipped; raise --max-event-bytes to read it)` });
      return;
    }
    const text = this.parts.join('');
    this.parts = [];
    if (this.raw) {
      this.sink({ kind: 'text', line, text });
      return;
    }
    const r = parseEvent(text, this.limits);
    this.sink('event' in r ? { kind: 'event', line, event: r.event } : { kind: 'malformed', line, reason: r.reason });
  }
}

/** Without copying the line as `trim()` would. */
function onlyBlanks(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isBlank(text.charCodeAt(i))) return false;
  return true;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
