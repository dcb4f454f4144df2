/**
 * YAML text -> the `yaml` library's documents, by a fast reader of the subset rule files are
 * written in, or by `parseAllDocuments` for everything else.
 *
 * The `yaml` library (lexer, CST parser, composer) was half of a cold corpus build
 * (docs/performance.md). Rule files use a small part of YAML: block maps and sequences, plain,
 * quoted and `|`/`>` block scalars, one-line flow collections, empty values, comments, `---`.
 * `readFast` reads that subset straight from the text into the library's own node classes
 * (YAMLMap, YAMLSeq, Pair, Scalar, Document), resolving plain scalars with the library's own
 * YAML 1.2 core-schema tags, so `rule.ts` reads either result the same way.
 *
 * The fast path is only an optimisation: on anything it is not sure it reads exactly as the
 * library does (tags, anchors, aliases, tabs, carriage returns, trailing spaces, `?` keys, `|+`,
 * indentation indicators, odd indentation, duplicate keys, errors of any kind) it
 * gives up on the whole file and the library reads it, so every error and warning, and its
 * position, comes from the library. test/parse/yaml-reader.test.ts compares both readers node for
 * node over the corpora and generated YAML.
 *
 * What is equal: documents and their count, every node's class, value, type, source, format,
 * minFractionDigits and flow flag, every node's range[0] (what diagnostics point at) and a
 * scalar's range[1], `toJS()` and `documentValue`, and the LineCounter's line starts. Not reproduced: comments
 * (`comment`, `commentBefore`, `spaceBefore`), which nothing of rulec reads, and a node's
 * range[2] / a collection's range[1] (the end after trailing comments), which nothing reads either.
 */
import {
  Document,
  LineCounter,
  Pair,
  parseAllDocuments,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from 'yaml';

/** The options every rule file is read with, by either reader. */
const OPTIONS = { prettyErrors: false, uniqueKeys: true } as const;

export interface ReadResult {
  docs: Document.Parsed[];
  /** True when the fast reader read the file (the library did otherwise). */
  fast: boolean;
}

export type YamlReader = (text: string, lc: LineCounter) => ReadResult;

/** Read every document of `text`; `lc` (a new LineCounter) receives the line starts either way. */
export function readYamlDocuments(text: string, lc: LineCounter): ReadResult {
  const fast = readFast(text);
  if (fast) {
    // The same array the library would have filled by addNewLine (it reads lc.lineStarts only).
    lc.lineStarts = fast.lineStarts;
    return { docs: fast.docs, fast: true };
  }
  return readWithLibraryOnly(text, lc);
}

/** The documents the fast reader built: their values are plain to read (documentValue). */
const FAST_DOCS = new WeakSet<Document.Parsed>();

/**
 * A document's value as `doc.toJS({ maxAliasCount: 100 })` gives it. The library's toJS walks
 * with a context for anchors, merge keys and custom tags (0.6 s of a 17 s profile of a cold
 * corpus build); a document of the fast reader has none of them, nor a `__proto__` or duplicate
 * key, so a direct walk gives the same value.
 */
export function documentValue(doc: Document.Parsed): unknown {
  return FAST_DOCS.has(doc) ? plainValue(doc.contents as YNode) : doc.toJS({ maxAliasCount: 100 });
}

function plainValue(node: YNode): unknown {
  if (node instanceof Scalar) return node.value;
  if (node instanceof YAMLSeq) return node.items.map((n) => plainValue(n as YNode));
  const out: Record<string, unknown> = {};
  for (const pair of (node as YAMLMap).items) {
    const key = (pair.key as Scalar).value;
    out[key === null ? '' : String(key)] = plainValue(pair.value as YNode);
  }
  return out;
}

/** The library alone (for tests that compare the two readers). */
export const readWithLibraryOnly: YamlReader = (text, lc) => {
  const docs = parseAllDocuments(text, { ...OPTIONS, lineCounter: lc });
  return { docs: Array.isArray(docs) ? docs : [docs as unknown as Document.Parsed], fast: false };
};

/** The library's reading of `text`, for tests that compare the two readers. */
export function readWithLibrary(text: string): { docs: Document.Parsed[]; lineStarts: number[] } {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { ...OPTIONS, lineCounter: lc });
  return { docs: Array.isArray(docs) ? docs : [docs as unknown as Document.Parsed], lineStarts: lc.lineStarts };
}

/** The fast reader alone: undefined when the file is not (surely) in the subset. */
export function readFast(text: string): { docs: Document.Parsed[]; lineStarts: number[] } | undefined {
  // Tabs, carriage returns, a BOM, control characters, Unicode line breaks and trailing spaces
  // each change how the library splits or folds lines in ways this reader does not copy.
  if (text.length === 0 || UNSUPPORTED_CHARS.test(text) || text.includes(' \n') || text.endsWith(' ')) return undefined;
  try {
    return new FastReader(text).read();
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
}

// eslint-disable-next-line no-control-regex
const UNSUPPORTED_CHARS = /[\x00-\x09\x0b-\x1f\x7f\u0085\u2028\u2029\ufeff]/;

/** Thrown (and caught in readFast) when the text leaves the subset. */
const BAIL = Symbol('bail');
function bail(): never {
  throw BAIL;
}

interface CoreTag {
  test: RegExp;
  resolve: (value: string, onError: (msg: string) => void, options: object) => unknown;
  format?: string;
}

/**
 * The core schema's implicit tags in the library's own order, taken from the library, so that a
 * plain scalar resolves here exactly as it does there (`findScalarTagByTest` in compose-scalar.js).
 */
const probe = new Document();
const SCHEMA = probe.schema;
const DOC_OPTIONS = { ...probe.options, ...OPTIONS };
const CORE_TAGS: CoreTag[] = (SCHEMA.tags as unknown as (CoreTag & { default?: unknown; collection?: unknown })[]).filter(
  (t) => t.default === true && t.test !== undefined && !t.collection,
);
/** Every core tag but the string's matches only an empty value or one starting with one of these. */
const TAGGED_FIRST = new Set('~nNtTfF0123456789+-.');

function onTagError(): never {
  bail();
}

/** A plain scalar resolved as the library resolves it, with the fields it sets. */
function plainScalar(value: string, start: number, end: number): Scalar {
  let node: Scalar | undefined;
  if (value === '' || TAGGED_FIRST.has(value[0]!)) {
    for (const tag of CORE_TAGS) {
      if (!tag.test.test(value)) continue;
      const res = tag.resolve(value, onTagError, DOC_OPTIONS);
      node = res instanceof Scalar ? res : new Scalar(res);
      if (tag.format) node.format = tag.format;
      break;
    }
  }
  node ??= new Scalar(value);
  node.range = [start, end, end];
  node.source = value;
  node.type = Scalar.PLAIN;
  return node;
}

function stringScalar(value: string, type: Scalar.Type, start: number, end: number): Scalar {
  const node = new Scalar(value);
  node.range = [start, end, end];
  node.source = value;
  node.type = type;
  return node;
}

/** Characters that may not start a plain scalar here (or start one the library reads differently). */
const NOT_PLAIN_FIRST = new Set('?:-,[]{}#&*!|>\'"%@`');
/** Of those, the ones that start a plain scalar (in block context) when a non-space follows. */
const PLAIN_FIRST_IF_FOLLOWED = new Set('?:-');
const FLOW_INDICATORS = new Set(',[]{}');

type YNode = Scalar | YAMLMap | YAMLSeq;

class FastReader {
  private readonly lineStarts: number[] = [0];
  /** Offset of each line's end (its '\n', or the text's length). */
  private readonly lineEnds: number[] = [];
  /** Spaces before each line's first other character; -1: an empty line; -2: a comment-only line. */
  private readonly indents: number[] = [];

  constructor(private readonly text: string) {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl === -1 ? text.length : nl;
      this.lineEnds.push(end);
      let i = start;
      while (i < end && text.charCodeAt(i) === 32) i++;
      this.indents.push(i === end ? -1 : text[i] === '#' ? -2 : i - start);
      if (nl === -1) break;
      start = nl + 1;
      this.lineStarts.push(start);
    }
  }

  read(): { docs: Document.Parsed[]; lineStarts: number[] } {
    const { text, lineStarts } = this;
    const docs: Document.Parsed[] = [];
    const nLines = lineStarts.length;
    let segStart = 0;
    let sawMarker = false;
    for (let l = 0; l <= nLines; l++) {
      const isEnd = l === nLines;
      let marker = false;
      if (!isEnd) {
        const s = lineStarts[l]!;
        const head = text.slice(s, s + 3);
        if (head === '---' || head === '...') {
          const after = text[s + 3];
          if (after === undefined || after === '\n') {
            if (head === '...') bail();
            marker = true;
          } else if (after === ' ') bail();
        }
      }
      if (!marker && !isEnd) continue;
      const first = this.nextContent(segStart, l);
      if (first === l) {
        // Comments before the first `---` belong to its document; any other empty document
        // (a trailing `---`, a comment-only file) is left to the library.
        if (!(marker && !sawMarker)) bail();
      } else {
        docs.push(this.readDocument(segStart, first, l, sawMarker));
      }
      sawMarker ||= marker;
      segStart = l + 1;
    }
    if (docs.length === 0) bail();
    return { docs, lineStarts };
  }

  /** The first line in [from, to) that is neither empty nor a comment; `to` if none. */
  private nextContent(from: number, to: number): number {
    let l = from;
    while (l < to && this.indents[l]! < 0) l++;
    return l;
  }

  private readDocument(segStart: number, first: number, segEnd: number, afterMarker: boolean): Document.Parsed {
    if (this.indents[first] !== 0) bail();
    const { node, next } = this.blockNode(first, 0, -1, segEnd);
    if (!(node instanceof YAMLMap)) bail();
    if (this.nextContent(next, segEnd) !== segEnd) bail();
    const doc = new Document(undefined, OPTIONS) as Document.Parsed;
    doc.contents = node as unknown as Document.Parsed['contents'];
    if (afterMarker) doc.directives.docStart = true;
    FAST_DOCS.add(doc);
    const start = afterMarker ? this.lineStarts[segStart - 1]! : 0;
    const end = node.range![1];
    doc.range = [start, end, end];
    return doc;
  }

  /**
   * A block collection or scalar whose first character is at `col` of line `l`, inside a
   * collection at indent `parent`. Returns the node and the line after it.
   */
  private blockNode(l: number, col: number, parent: number, segEnd: number, scalar = true): { node: YNode; next: number } {
    const p = this.lineStarts[l]! + col;
    const ch = this.text[p]!;
    if (ch === '-' && this.isBlank(p + 1)) return this.blockSeq(l, col, segEnd);
    if (this.keyEnd(p, this.lineEnds[l]!) !== -1) return this.blockMap(l, col, segEnd);
    if (!scalar) bail();
    return this.scalar(l, p, parent, segEnd);
  }

  /** Whether a plain scalar (in block context) may start at `p`. */
  private plainFirst(p: number): boolean {
    const c = this.text[p]!;
    return !NOT_PLAIN_FIRST.has(c) || (PLAIN_FIRST_IF_FOLLOWED.has(c) && !this.isBlank(p + 1));
  }

  private isBlank(p: number): boolean {
    const c = this.text[p];
    return c === undefined || c === ' ' || c === '\n';
  }

  /**
   * If a map key starts at `p`, the offset of its `:` indicator, else -1. Only simple keys: a
   * plain one without a comment before its colon, or a one-line quoted one right before the colon.
   */
  private keyEnd(p: number, eol: number): number {
    const { text } = this;
    const c = text[p]!;
    if (c === '"' || c === "'") {
      const close = this.quoteEnd(p, eol);
      if (close === -1) return -1;
      return text[close] === ':' && this.isBlank(close + 1) ? close : -1;
    }
    if (!this.plainFirst(p)) return -1;
    for (let i = p + 1; i < eol; i++) {
      const ch = text[i];
      if (ch === ':' && this.isBlank(i + 1)) return text[i - 1] === ' ' ? bail() : i;
      if (ch === '#' && text[i - 1] === ' ') return -1;
    }
    return -1;
  }

  /** The offset after the closing quote of a quoted scalar starting at `p` on one line, or -1. */
  private quoteEnd(p: number, eol: number): number {
    const { text } = this;
    const q = text[p];
    for (let i = p + 1; i < eol; i++) {
      const ch = text[i];
      if (q === '"' && ch === '\\') i++;
      else if (ch === q) {
        if (q === "'" && text[i + 1] === "'") i++;
        else return i + 1;
      }
    }
    return -1;
  }

  private blockMap(l: number, col: number, segEnd: number): { node: YNode; next: number } {
    const { text } = this;
    const map = new YAMLMap(SCHEMA);
    const seen = new Set<unknown>();
    let line = l;
    let start = this.lineStarts[l]! + col;
    for (;;) {
      const eol = this.lineEnds[line]!;
      const colon = this.keyEnd(start, eol);
      if (colon === -1) bail();
      if (colon - start > 1000) bail();
      const c = text[start];
      let key: Scalar;
      if (c === '"' || c === "'") key = this.quoted(start, colon, line, col).node;
      else key = plainScalar(text.slice(start, colon), start, colon);
      // Duplicate keys are an error the library reports; `__proto__` and `<<` are read specially by toJS.
      if (seen.has(key.value) || key.value === '__proto__' || key.value === '<<') bail();
      seen.add(key.value);
      const { node, next } = this.valueAfter(colon + 1, line, col, true, segEnd);
      map.items.push(new Pair(key, node));
      const n = this.nextContent(next, segEnd);
      if (n === segEnd || this.indents[n]! < col) {
        map.range = [this.lineStarts[l]! + col, node.range![1], node.range![1]];
        return { node: map, next: n };
      }
      if (this.indents[n] !== col) bail();
      line = n;
      start = this.lineStarts[n]! + col;
    }
  }

  private blockSeq(l: number, col: number, segEnd: number): { node: YNode; next: number } {
    const { text } = this;
    const seq = new YAMLSeq(SCHEMA);
    let line = l;
    for (;;) {
      const dash = this.lineStarts[line]! + col;
      if (text[dash] !== '-' || !this.isBlank(dash + 1)) bail();
      let p = dash + 1;
      while (text[p] === ' ') p++;
      const eol = this.lineEnds[line]!;
      let item: { node: YNode; next: number };
      if (p === eol || text[p] === '#') {
        item = this.valueAfter(dash + 1, line, col, false, segEnd);
      } else if (text[p] === '-' && this.isBlank(p + 1)) {
        bail();
      } else if (this.keyEnd(p, eol) !== -1) {
        item = this.blockMap(line, p - this.lineStarts[line]!, segEnd);
      } else {
        item = this.valueAfter(dash + 1, line, col, false, segEnd);
      }
      seq.items.push(item.node);
      const n = this.nextContent(item.next, segEnd);
      const s = this.lineStarts[n]! + col;
      // A line at the sequence's indent that is not an item ends it: a map's value may be a
      // sequence at the map's own indent, followed by the map's next key.
      if (n === segEnd || this.indents[n]! < col || (this.indents[n] === col && !(text[s] === '-' && this.isBlank(s + 1)))) {
        seq.range = [this.lineStarts[l]! + col, item.node.range![1], item.node.range![1]];
        return { node: seq, next: n };
      }
      if (this.indents[n] !== col) bail();
      line = n;
    }
  }

  /**
   * The value after a `:` or `-` indicator at `p - 1` on line `l`, of a collection at indent
   * `parent`. `compactSeq`: a map value may be a sequence at the map's own indent.
   */
  private valueAfter(p: number, l: number, parent: number, compactSeq: boolean, segEnd: number): { node: YNode; next: number } {
    const { text } = this;
    const eol = this.lineEnds[l]!;
    while (text[p] === ' ') p++;
    if (p === eol || (text[p] === '#' && text[p - 1] === ' ')) {
      const n = this.nextContent(l + 1, segEnd);
      if (n < segEnd) {
        const indent = this.indents[n]!;
        if (indent > parent) {
          // The library refuses a scalar after a comment line here ("Implicit keys need to be on a
          // single line"); a collection after one is common (a comment above a search).
          const commented = this.indents.slice(l + 1, n).includes(-2);
          return this.blockNode(n, indent, parent, segEnd, !commented);
        }
        const s = this.lineStarts[n]! + indent;
        if (compactSeq && indent === parent && text[s] === '-' && this.isBlank(s + 1)) return this.blockSeq(n, indent, segEnd);
      }
      // An empty value: null, where the library puts it (after the indicator and its spaces).
      return { node: plainScalar('', p, p), next: l + 1 };
    }
    return this.scalar(l, p, parent, segEnd);
  }

  /** A scalar (or a one-line flow collection of scalars) starting at `p` on line `l`. */
  private scalar(l: number, p: number, parent: number, segEnd: number): { node: YNode; next: number } {
    const c = this.text[p]!;
    if (c === '"' || c === "'") return this.quoted(p, -1, l, parent, segEnd);
    if (c === '|' || c === '>') return this.blockScalar(l, p, parent, segEnd);
    if (c === '[' || c === '{') return this.flow(l, p);
    if (!this.plainFirst(p)) bail();
    return this.plain(l, p, parent, segEnd);
  }

  /** The rest of a line after a value ending at `p`: only spaces and a comment may follow. */
  private lineRest(p: number, eol: number): void {
    const { text } = this;
    if (p === eol) return;
    if (text[p] !== ' ') bail();
    while (text[p] === ' ') p++;
    if (p !== eol && text[p] !== '#') bail();
  }

  private plain(l: number, p: number, parent: number, segEnd: number): { node: YNode; next: number } {
    const { text } = this;
    let eol = this.lineEnds[l]!;
    let { end, comment } = this.plainLine(p, eol);
    let next = l + 1;
    if (!comment) {
      // Continuation lines: more indented than the collection, not comments, not empty at the end.
      for (let n = l + 1; n < segEnd; n++) {
        const indent = this.indents[n]!;
        if (indent === -1) continue;
        if (indent <= parent && indent !== -2) break;
        if (indent === -2) {
          // A comment ends the scalar; a more indented line after it would be an error.
          const after = this.nextContent(n, segEnd);
          if (after < segEnd && this.indents[after]! > parent) bail();
          break;
        }
        const s = this.lineStarts[n]! + indent;
        if ('-?:#'.includes(text[s]!)) bail();
        eol = this.lineEnds[n]!;
        const r = this.plainLine(s, eol);
        end = r.end;
        next = n + 1;
        if (r.comment) {
          const after = this.nextContent(next, segEnd);
          if (after < segEnd && this.indents[after]! > parent) bail();
          break;
        }
      }
    }
    const source = end > this.lineEnds[l]! ? unfoldLines(text.slice(p, end)) : text.slice(p, end);
    return { node: plainScalar(source, p, end), next };
  }

  /** The end of a plain scalar's text on one line from `p`, and whether a comment follows it. */
  private plainLine(p: number, eol: number): { end: number; comment: boolean } {
    const { text } = this;
    let end = p;
    for (let i = p; i < eol; i++) {
      const ch = text[i];
      if (ch === ' ') {
        if (text[i + 1] === '#') return { end, comment: true };
      } else {
        if (ch === ':' && this.isBlank(i + 1)) bail();
        end = i + 1;
      }
    }
    return { end, comment: false };
  }

  /**
   * A quoted scalar starting at `p`. `keyColon`: the `:` after a one-line key; otherwise a value,
   * which may go on over lines more indented than `parent`.
   */
  private quoted(p: number, keyColon: number, l: number, parent: number, segEnd = -1): { node: Scalar; next: number } {
    const { text } = this;
    const q = text[p]!;
    let i = p + 1;
    let line = l;
    for (;;) {
      const ch = text[i];
      if (ch === undefined) bail();
      if (ch === '\n') {
        if (keyColon !== -1) bail();
        line++;
        if (line >= segEnd) bail();
        const indent = this.indents[line]!;
        // A continuation line must be more indented than its collection (or empty).
        if (indent !== -1 && (indent <= parent || indent === -2)) bail();
      } else if (q === '"' && ch === '\\') {
        i++;
      } else if (ch === q) {
        if (q === "'" && text[i + 1] === "'") i++;
        else break;
      }
      i++;
    }
    const end = i + 1;
    const source = text.slice(p, end);
    const value = q === '"' ? doubleQuotedValue(source) : singleQuotedValue(source);
    const node = stringScalar(value, q === '"' ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE, p, end);
    if (keyColon === -1) this.lineRest(end, this.lineEnds[line]!);
    else if (end !== keyColon) bail();
    return { node, next: line + 1 };
  }

  /** `|` or `>` with `-` or no chomping indicator, and no indentation indicator. */
  private blockScalar(l: number, p: number, parent: number, segEnd: number): { node: YNode; next: number } {
    const { text } = this;
    const mode = text[p];
    let h = p + 1;
    let chomp = '';
    if (text[h] === '-') chomp = text[h++]!;
    if (h !== this.lineEnds[l]) bail();
    // The content: the lines after the header, as indented as the first one (more than the
    // parent); empty lines before it are line breaks of the value.
    let first = l + 1;
    while (first < segEnd && this.indents[first] === -1) first++;
    const leading = first - (l + 1);
    if (first >= segEnd) bail();
    const indent = this.indents[first] === -2 ? this.commentIndent(first) : this.indents[first]!;
    if (indent <= parent) bail();
    let last = first;
    for (let n = first + 1; n < segEnd; n++) {
      const ind = this.indents[n]!;
      if (ind === -1) continue;
      const real = ind === -2 ? this.commentIndent(n) : ind;
      if (real < indent) {
        if (real > parent) bail();
        break;
      }
      last = n;
    }
    if (last + 1 >= this.lineStarts.length) bail();
    const lines: string[] = [];
    for (let n = first; n <= last; n++) {
      const s = this.lineStarts[n]!;
      const e = this.lineEnds[n]!;
      lines.push(e - s === 0 ? '' : text.slice(s + indent, e));
    }
    let value = '\n'.repeat(leading);
    if (mode === '|') value += lines.join('\n');
    else {
      // As resolve-block-scalar.js folds: more-indented lines and empty lines keep their breaks.
      let sep = '';
      let prevMoreIndented = false;
      for (const line of lines) {
        if (line[0] === ' ') {
          if (sep === ' ') sep = '\n';
          else if (!prevMoreIndented && sep === '\n') sep = '\n\n';
          value += sep + line;
          sep = '\n';
          prevMoreIndented = true;
        } else if (line === '') {
          if (sep === '\n') value += '\n';
          else sep = '\n';
        } else {
          value += sep + line;
          sep = ' ';
          prevMoreIndented = false;
        }
      }
    }
    if (chomp === '') value += '\n';
    const end = this.lineStarts[last + 1]!;
    const node = stringScalar(value, mode === '|' ? Scalar.BLOCK_LITERAL : Scalar.BLOCK_FOLDED, p, end);
    return { node, next: last + 1 };
  }

  private commentIndent(n: number): number {
    const s = this.lineStarts[n]!;
    return this.text.indexOf('#', s) - s;
  }

  /** A one-line `[...]` or `{...}` of scalars, pairs of scalars and such collections. */
  private flow(l: number, p: number): { node: YNode; next: number } {
    const eol = this.lineEnds[l]!;
    const { node, end } = this.flowCollection(p, eol);
    this.lineRest(end, eol);
    return { node, next: l + 1 };
  }

  private flowCollection(p: number, eol: number): { node: YAMLMap | YAMLSeq; end: number } {
    const { text } = this;
    const isMap = text[p] === '{';
    const close = isMap ? '}' : ']';
    const coll = isMap ? new YAMLMap(SCHEMA) : new YAMLSeq(SCHEMA);
    coll.flow = true;
    const seen = new Set<unknown>();
    let i = p + 1;
    const skip = (): void => {
      while (text[i] === ' ') i++;
    };
    const item = (key: boolean): YNode => {
      skip();
      const c = text[i];
      if (c === '"' || c === "'") {
        const end = this.quoteEnd(i, eol);
        if (end === -1) bail();
        const source = text.slice(i, end);
        const value = c === '"' ? doubleQuotedValue(source) : singleQuotedValue(source);
        const node = stringScalar(value, c === '"' ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE, i, end);
        i = end;
        return node;
      }
      if ((c === '[' || c === '{') && !key) {
        const r = this.flowCollection(i, eol);
        i = r.end;
        return r.node;
      }
      if (c === undefined || NOT_PLAIN_FIRST.has(c)) bail();
      const start = i;
      let end = i;
      while (i < eol) {
        const ch = text[i]!;
        if (FLOW_INDICATORS.has(ch) || ch === ':' || ch === '#') break;
        if (ch !== ' ') end = i + 1;
        i++;
      }
      if (text[i] === '#' || (text[i] === ':' && !(isMap && key))) bail();
      i = end;
      return plainScalar(text.slice(start, end), start, end);
    };
    skip();
    if (text[i] === close) i++;
    else {
      for (;;) {
        const a = item(isMap);
        skip();
        if (isMap) {
          if (text[i] !== ':' || text[i + 1] !== ' ') bail();
          i++;
          const k = (a as Scalar).value;
          if (seen.has(k) || k === '__proto__' || k === '<<') bail();
          seen.add(k);
          const b = item(false);
          skip();
          (coll as YAMLMap).items.push(new Pair(a, b));
        } else (coll as YAMLSeq).items.push(a);
        if (text[i] === ',') {
          i++;
          skip();
          if (text[i] === close) bail();
          continue;
        }
        if (text[i] !== close) bail();
        i++;
        break;
      }
    }
    coll.range = [p, i, i];
    return { node: coll, end: i };
  }
}

// The three functions below are those of the library's compose/resolve-flow-scalar.js (ISC
// licence), less the error reports: whatever would report one is refused before they run.

function unfoldLines(source: string): string {
  const line = /(.*?)\n/sy;
  let match = line.exec(source);
  if (!match) return source;
  let res = match[1]!.replace(/(?<![ \t])[ \t]+$/, '');
  let sep = ' ';
  let pos = line.lastIndex;
  while ((match = line.exec(source))) {
    const lm = match[1]!.replace(/^[ \t]+|(?<![ \t])[ \t]+$/g, '');
    if (lm === '') {
      if (sep === '\n') res += sep;
      else sep = '\n';
    } else {
      res += sep + lm;
      sep = ' ';
    }
    pos = line.lastIndex;
  }
  const last = /[ \t]*(.*)/sy;
  last.lastIndex = pos;
  match = last.exec(source);
  return res + sep + (match?.[1] ?? '');
}

function singleQuotedValue(source: string): string {
  return unfoldLines(source.slice(1, -1)).replace(/''/g, "'");
}

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
  N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029', ' ': ' ', '"': '"', '/': '/', '\\': '\\',
};

function doubleQuotedValue(source: string): string {
  let res = '';
  for (let i = 1; i < source.length - 1; ++i) {
    const ch = source[i]!;
    if (ch === '\n') {
      let fold = '';
      let c = source[i + 1];
      while (c === ' ' || c === '\n') {
        if (c === '\n') fold += '\n';
        i += 1;
        c = source[i + 1];
      }
      res += fold || ' ';
    } else if (ch === '\\') {
      const next = source[++i]!;
      const cc = ESCAPES[next];
      if (cc) res += cc;
      else if (next === '\n') {
        // An escaped line break: the next line's leading spaces go too.
        while (source[i + 1] === ' ') ++i;
      } else if (next === 'x' || next === 'u' || next === 'U') {
        const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
        const hex = source.substr(i + 1, length);
        if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) bail();
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) bail();
        res += String.fromCodePoint(code);
        i += length;
      } else bail();
    } else if (ch === ' ') {
      // Spaces before a line break go.
      const wsStart = i;
      let next = source[i + 1];
      while (next === ' ') next = source[++i + 1];
      if (next !== '\n') res += i > wsStart ? source.slice(wsStart, i + 1) : ch;
    } else res += ch;
  }
  return res;
}


