/**
 * Aho-Corasick over UTF-16 code units, compiled to a full DFA on a compressed alphabet: each code
 * unit that occurs in a pattern has its own class, every other unit shares one class (whose
 * transitions all lead back to the root), so the table is states x (distinct pattern units + 1)
 * and scanning costs one table lookup per unit of text. States are numbered so that those where
 * patterns end come last (one comparison tells a hit), and the table holds 16-bit state numbers
 * when there are fewer than 65,536 states (half the memory traffic).
 *
 * `coarse` mode is for the witness prefilter. Patterns there are folded (docs/semantics.md) with
 * every non-ASCII unit replaced by U+0080, and the text is read *unfolded*: the automaton folds as
 * it reads, `A`-`Z` as `a`-`z`, U+212A KELVIN SIGN as `k` (the one non-ASCII code point whose fold
 * is ASCII, tested) and every other non-ASCII unit as U+0080. Since folding never changes how many
 * units a code point has, that is exactly scanning the coarsened fold of the text, without building
 * it. It finds a superset of the occurrences, which is what a prefilter needs, with a table about
 * 70 classes wide whatever scripts the rules use.
 */
export const NON_ASCII = '\u0080';

/** Below this shortest-pattern length, skipping moves too little to beat reading every unit. */
export const MIN_SKIP_LENGTH = 4;

/** A growable list of pattern ids, reused across texts and events. */
export class HitBuffer {
  ids = new Int32Array(256);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) {
      const next = new Int32Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    this.ids[this.length++] = id;
  }
}

export class AhoCorasick {
  private readonly classOfLow = new Uint16Array(128);
  private readonly classOfHigh = new Map<number, number>();
  private readonly nonAsciiClass: number;
  /** Coarse mode: the class of U+212A (that of `k`). */
  private readonly kelvinClass: number;
  private readonly classCount: number;
  /** delta[state * classCount + class] = next state. */
  private readonly delta: Uint16Array | Uint32Array;
  /** States from this number on have patterns ending at them. */
  private readonly firstOutput: number;
  /** For state firstOutput + k: its pattern ids in `outs` from outStart[k], -1 terminated. */
  private readonly outStart: Int32Array;
  private readonly outs: Int32Array;
  readonly stateCount: number;
  /** Length of the longest pattern, in units. */
  private readonly maxLength: number;
  /** The skip window: the shortest pattern's length (at most 255). */
  private readonly window: number;
  /**
   * For scanSkipping: shift[class(a) * classCount + class(b)] = how far the window may move when
   * it ends in the units a b (see canSkip).
   */
  private shift: Uint8Array | undefined;

  constructor(
    readonly patterns: readonly string[],
    private readonly coarse = false,
  ) {
    const unit = (c: number): number => (coarse && c >= 0x80 ? 0x80 : c);
    const classes = new Map<number, number>();
    for (const p of patterns) {
      for (let i = 0; i < p.length; i++) {
        const c = unit(p.charCodeAt(i));
        if (!classes.has(c)) classes.set(c, classes.size + 1);
      }
    }
    this.classCount = classes.size + 1;
    for (const [c, k] of classes) {
      if (c < 128) this.classOfLow[c] = k;
      else this.classOfHigh.set(c, k);
    }
    this.nonAsciiClass = classes.get(0x80) ?? 0;
    this.kelvinClass = classes.get(0x6b) ?? 0;
    if (coarse) for (let c = 0x41; c <= 0x5a; c++) this.classOfLow[c] = classes.get(c + 0x20) ?? 0;
    const K = this.classCount;

    // Trie.
    const gotoMaps: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    patterns.forEach((p, id) => {
      // An empty pattern would end at the root, which the scan never reports.
      if (p === '') throw new Error('Aho-Corasick patterns must not be empty');
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const k = classes.get(unit(p.charCodeAt(i)))!;
        let t = gotoMaps[s]!.get(k);
        if (t === undefined) {
          t = gotoMaps.length;
          gotoMaps.push(new Map());
          own.push([]);
          gotoMaps[s]!.set(k, t);
        }
        s = t;
      }
      own[s]!.push(id);
    });
    const n = gotoMaps.length;
    this.stateCount = n;

    // Failure links breadth first; a state's row is its failure state's row with its own edges.
    const rows = new Int32Array(n * K);
    const fail = new Int32Array(n);
    const order: number[] = [];
    for (const [k, t] of gotoMaps[0]!) {
      rows[k] = t;
      order.push(t);
    }
    for (let q = 0; q < order.length; q++) {
      const s = order[q]!;
      const f = fail[s]!;
      rows.copyWithin(s * K, f * K, f * K + K);
      for (const [k, t] of gotoMaps[s]!) {
        fail[t] = rows[f * K + k]!;
        rows[s * K + k] = t;
        order.push(t);
      }
    }
    // Output lists: own patterns, then the failure state's (complete already, in BFS order).
    const lists: number[][] = new Array<number[]>(n);
    lists[0] = own[0]!;
    for (const s of order) lists[s] = own[s]!.length ? [...own[s]!, ...lists[fail[s]!]!] : lists[fail[s]!]!;

    // Renumber: states without output first (the root stays 0), then those with output.
    const number = new Int32Array(n);
    let next = 0;
    for (let s = 0; s < n; s++) if (lists[s]!.length === 0) number[s] = next++;
    this.firstOutput = next;
    const outStart: number[] = [];
    const flat: number[] = [];
    for (let s = 0; s < n; s++) {
      if (lists[s]!.length === 0) continue;
      number[s] = next++;
      outStart.push(flat.length);
      for (const x of lists[s]!) flat.push(x);
      flat.push(-1);
    }
    this.outStart = Int32Array.from(outStart);
    this.outs = Int32Array.from(flat);
    const delta = n < 0x10000 ? new Uint16Array(n * K) : new Uint32Array(n * K);
    for (let s = 0; s < n; s++) {
      const to = number[s]! * K;
      for (let k = 0; k < K; k++) delta[to + k] = number[rows[s * K + k]!]!;
    }
    this.delta = delta;

    this.maxLength = patterns.length ? Math.max(...patterns.map((p) => p.length)) : 0;
    // The shift table holds bytes: a longer window would not skip further in practice.
    this.window = patterns.length ? Math.min(255, ...patterns.map((p) => p.length)) : 0;
  }

  /**
   * Whether scanSkipping can be used: every pattern has at least MIN_SKIP_LENGTH units. Builds the
   * skip table on the first call.
   */
  canSkip(): boolean {
    if (this.shift !== undefined) return true;
    const m = this.window;
    if (m < MIN_SKIP_LENGTH) return false;
    // Wu-Manber on pairs of units: a window of m units ending in the pair (a, b) may move by
    // m - 2 - j, where j is the rightmost position of (a, b) in the first m units of some
    // pattern; by m - 1 when the pair is in none (always when a unit is in no pattern, class 0).
    const K = this.classCount;
    const shift = new Uint8Array(K * K).fill(m - 1);
    for (const p of this.patterns) {
      for (let j = 0; j + 1 < m; j++) {
        const g = this.classAt(p, j, this.classOfLow) * K + this.classAt(p, j + 1, this.classOfLow);
        shift[g] = Math.min(shift[g]!, m - 2 - j);
      }
    }
    this.shift = shift;
    return true;
  }

  /**
   * What scanInto finds, possibly with repeats, looking at a fraction of the text when patterns
   * are long: only windows whose last two units can end the first `window` units of some pattern
   * are checked, by running the automaton from the window's start. Only after canSkip() is true.
   */
  scanSkipping(text: string, hits: HitBuffer): void {
    const shift = this.shift!;
    const K = this.classCount;
    const low = this.classOfLow;
    const m = this.window;
    for (let i = m - 1; i < text.length; ) {
      const sh = shift[this.classAt(text, i - 1, low) * K + this.classAt(text, i, low)]!;
      if (sh === 0) {
        this.verify(text, i - m + 1, hits);
        i++;
      } else i += sh;
    }
  }

  private classAt(text: string, i: number, low: Uint16Array): number {
    const c = text.charCodeAt(i);
    return c < 128 ? low[c]! : this.classOf(c);
  }

  /** Runs the automaton from the root at `start` for as long as a pattern starting there can be. */
  private verify(text: string, start: number, hits: HitBuffer): void {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    const first = this.firstOutput;
    const end = Math.min(text.length, start + this.maxLength);
    let s = 0;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      s = delta[s * K + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (s >= first) for (let j = this.outStart[s - first]!; this.outs[j]! >= 0; j++) hits.push(this.outs[j]!);
    }
  }

  private classOf(c: number): number {
    if (c < 128) return this.classOfLow[c]!;
    if (this.coarse) return c === 0x212a ? this.kelvinClass : this.nonAsciiClass;
    return this.classOfHigh.get(c) ?? 0;
  }

  /**
   * Appends the id of every pattern occurrence in `text` to `hits` (repeats included), without
   * allocating: the buffer is reused across texts and events.
   */
  scanInto(text: string, hits: HitBuffer): void {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    const first = this.firstOutput;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = delta[s * K + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (s >= first) for (let j = this.outStart[s - first]!; this.outs[j]! >= 0; j++) hits.push(this.outs[j]!);
    }
  }

  /** Does some pattern occur in `text`? */
  test(text: string): boolean {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    const first = this.firstOutput;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = delta[s * K + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (s >= first) return true;
    }
    return false;
  }
}
