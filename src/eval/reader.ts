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
      reader = mode === 'array' ? new ArrayReader(sink, limits) : new LineReader(sink, limits);
    } else if (reader instanceof PendingReader) {
      const mode = detect(buf);
      if (mode === undefined) {
        reader.push(buf);
        continue;
      }
      reader = reader.become(mode === 'array' ? new ArrayReader(sink, limits) : new LineReader(sink, limits));
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

/** 'array', 'lines', or undefined when the chunk is only blanks (and a BOM). */
function detect(buf: Buffer): 'array' | 'lines' | undefined {
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
  private line = 1;
  private first = true;

  constructor(
    private readonly sink: ReadSink,
    private readonly limits: ReadLimits,
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
      this.sink({ kind: 'malformed', line, reason: `event longer than ${this.limits.maxEventBytes} bytes (skipped; raise --max-event-bytes to read it)` });
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
    private readonly sink: ReadSink,
    private readonly limits: ReadLimits,
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
    const r = parseEvent(this.parts.join(''), this.limits);
    this.parts = [];
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
