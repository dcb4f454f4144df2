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
  /**
   * delta holds state * classCount (the offset of its row) instead of the state number, when the
   * table is small enough for 16 bits to hold those.
   */
  private readonly premultiplied: boolean;
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

    // Trie, as rows of K next states (0: no edge; no edge leads back to the root), sized for the
    // worst case of no shared prefix. Typed arrays rather than a Map per state: the loops below
    // run once per route and field, mostly before the JIT has warmed up.
    let total = 1;
    // Loops, not Math.max(...lengths): spreading 130,000 arguments overflows the stack.
    let longest = 0;
    let shortest = Infinity;
    for (const p of patterns) {
      // An empty pattern would end at the root, which the scan never reports.
      if (p === '') throw new Error('Aho-Corasick patterns must not be empty');
      total += p.length;
      longest = Math.max(longest, p.length);
      shortest = Math.min(shortest, p.length);
    }
    this.maxLength = longest;
    // The shift table holds bytes: a longer window would not skip further in practice.
    this.window = patterns.length ? Math.min(255, shortest) : 0;
    const trie = new Int32Array(total * K);
    /** Patterns ending at each state, as linked lists: ownHead[state], then ownNext[pattern]. */
    const ownHead = new Int32Array(total).fill(-1);
    const ownNext = new Int32Array(patterns.length);
    let n = 1;
    for (let id = 0; id < patterns.length; id++) {
      const p = patterns[id]!;
      let st = 0;
      for (let i = 0; i < p.length; i++) {
        const at = st * K + classes.get(unit(p.charCodeAt(i)))!;
        if (trie[at] === 0) trie[at] = n++;
        st = trie[at]!;
      }
      ownNext[id] = ownHead[st]!;
      ownHead[st] = id;
    }
    this.stateCount = n;

    // Failure links breadth first, turning the trie into the full transition table in place: a
    // state's missing edges are its failure state's (whose row is complete, being earlier).
    const rows = trie.subarray(0, n * K);
    const fail = new Int32Array(n);
    const order = new Int32Array(n);
    let tail = 0;
    for (let k = 0; k < K; k++) if (rows[k] !== 0) order[tail++] = rows[k]!;
    for (let q = 0; q < tail; q++) {
      const st = order[q]!;
      const f = fail[st]! * K;
      const row = st * K;
      for (let k = 0; k < K; k++) {
        const child = rows[row + k]!;
        if (child !== 0) {
          fail[child] = rows[f + k]!;
          order[tail++] = child;
        } else rows[row + k] = rows[f + k]!;
      }
    }
    // Output lists: own patterns, then the failure state's (complete already, in BFS order).
    const lists: (number[] | undefined)[] = new Array<number[] | undefined>(n);
    for (let q = 0; q < tail; q++) {
      const st = order[q]!;
      const inherited = lists[fail[st]!];
      if (ownHead[st] === -1) {
        lists[st] = inherited;
        continue;
      }
      const list: number[] = [];
      for (let id = ownHead[st]!; id !== -1; id = ownNext[id]!) list.push(id);
      list.reverse(); // pattern order, as they were added
      lists[st] = inherited ? list.concat(inherited) : list;
    }

    // Renumber: states without output first (the root stays 0), then those with output.
    const number = new Int32Array(n);
    let next = 0;
    for (let st = 0; st < n; st++) if (lists[st] === undefined) number[st] = next++;
    this.firstOutput = next;
    const outStart: number[] = [];
    const flat: number[] = [];
    for (let st = 0; st < n; st++) {
      const list = lists[st];
      if (list === undefined) continue;
      number[st] = next++;
      outStart.push(flat.length);
      for (const x of list) flat.push(x);
      flat.push(-1);
    }
    this.outStart = Int32Array.from(outStart);
    this.outs = Int32Array.from(flat);
    // Small tables hold next states premultiplied by the row width: one multiplication less on
    // the chain of dependent loads that a scan is (see docs/evaluator.md, section 9).
    this.premultiplied = n * K <= 0x10000;
    const times = this.premultiplied ? K : 1;
    const delta = this.premultiplied || n < 0x10000 ? new Uint16Array(n * K) : new Uint32Array(n * K);
    for (let st = 0; st < n; st++) {
      const to = number[st]! * K;
      const from = st * K;
      for (let k = 0; k < K; k++) delta[to + k] = number[rows[from + k]!]! * times;
    }
    this.delta = delta;
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
        const g = this.classOf(p.charCodeAt(j)) * K + this.classOf(p.charCodeAt(j + 1));
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
    const m = this.window;
    for (let i = m - 1; i < text.length; ) {
      const sh = shift[this.classOf(text.charCodeAt(i - 1)) * K + this.classOf(text.charCodeAt(i))]!;
      if (sh === 0) {
        this.verify(text, i - m + 1, hits);
        i++;
      } else i += sh;
    }
  }

  /** Runs the automaton from the root at `start` for as long as a pattern starting there can be. */
  private verify(text: string, start: number, hits: HitBuffer): void {
    this.run(text, start, Math.min(text.length, start + this.maxLength), hits);
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
    this.run(text, 0, text.length, hits);
  }

  /** Runs the automaton from the root over text[from, to), appending the patterns that end there. */
  private run(text: string, from: number, to: number, hits: HitBuffer): void {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    if (this.premultiplied) {
      const first = this.firstOutput * K;
      let row = 0;
      for (let i = from; i < to; i++) {
        const c = text.charCodeAt(i);
        row = delta[row + (c < 128 ? low[c]! : this.classOf(c))]!;
        if (row >= first) this.report(((row / K) | 0) - this.firstOutput, hits);
      }
      return;
    }
    const first = this.firstOutput;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      s = delta[s * K + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (s >= first) this.report(s - first, hits);
    }
  }

  /** Appends the patterns of the k-th state with output. */
  private report(k: number, hits: HitBuffer): void {
    for (let j = this.outStart[k]!; this.outs[j]! >= 0; j++) hits.push(this.outs[j]!);
  }

  /** Does some pattern occur in `text`? */
  test(text: string): boolean {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    // Premultiplied or not, a state is at or past the first with output in the same order.
    const first = this.premultiplied ? this.firstOutput * K : this.firstOutput;
    const width = this.premultiplied ? 1 : K;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = delta[s * width + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (s >= first) return true;
    }
    return false;
  }
}
