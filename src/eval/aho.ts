/**
 * Aho-Corasick over UTF-16 code units, compiled to a full DFA on a compressed alphabet: each code
 * unit that occurs in a pattern has its own class, every other unit shares one class (whose
 * transitions all lead back to the root), so the table is states x (distinct pattern units + 1)
 * and scanning costs one table lookup per unit of text.
 *
 * `coarse` mode merges every non-ASCII unit into one class (U+0080 stands for all of them, in
 * patterns and text): the automaton then finds a superset of the occurrences, which is what the
 * witness prefilter needs, with a table about 70 classes wide whatever scripts the rules use.
 */
export const NON_ASCII = '\u0080';

export class AhoCorasick {
  private readonly classOfLow = new Uint16Array(128);
  private readonly classOfHigh = new Map<number, number>();
  private readonly nonAsciiClass: number;
  private readonly classCount: number;
  /**
   * Transitions: entry `row + class` is the next state's row offset (state x classes), bitwise
   * negated (`~row`) when patterns end at that state, so the scan loop needs one load per unit.
   */
  private readonly delta: Int32Array;
  /** Pattern ids ending at each state (own, then along the failure chain): -1 terminated lists in `outs`. */
  private readonly outStart: Int32Array;
  private readonly outs: Int32Array;
  readonly stateCount: number;

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
    const K = this.classCount;
    // Trie.
    const gotoMaps: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    patterns.forEach((p, id) => {
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
    // Failure links by breadth-first search; a state's DFA row is its failure state's row
    // overridden by its own trie edges.
    const delta = new Int32Array(n * K);
    const fail = new Int32Array(n);
    const order: number[] = [];
    for (const [k, t] of gotoMaps[0]!) {
      delta[k] = t;
      order.push(t);
    }
    for (let q = 0; q < order.length; q++) {
      const s = order[q]!;
      const f = fail[s]!;
      delta.copyWithin(s * K, f * K, f * K + K);
      for (const [k, t] of gotoMaps[s]!) {
        fail[t] = delta[f * K + k]!;
        delta[s * K + k] = t;
        order.push(t);
      }
    }
    this.delta = delta;
    // Output lists, own patterns first, then the failure state's (already complete in BFS order).
    const lists: number[][] = new Array<number[]>(n);
    lists[0] = own[0]!;
    for (const s of order) lists[s] = own[s]!.length ? [...own[s]!, ...lists[fail[s]!]!] : lists[fail[s]!]!;
    this.outStart = new Int32Array(n).fill(-1);
    const flat: number[] = [];
    const seen = new Map<number[], number>();
    for (let s = 0; s < n; s++) {
      const l = lists[s]!;
      if (l.length === 0) continue;
      let at = seen.get(l);
      if (at === undefined) {
        at = flat.length;
        for (const x of l) flat.push(x);
        flat.push(-1);
        seen.set(l, at);
      }
      this.outStart[s] = at;
    }
    this.outs = Int32Array.from(flat);
    for (let i = 0; i < delta.length; i++) {
      const t = delta[i]!;
      delta[i] = this.outStart[t]! >= 0 ? ~(t * K) : t * K;
    }
  }

  private classOf(c: number): number {
    if (c < 128) return this.classOfLow[c]!;
    return this.coarse ? this.nonAsciiClass : (this.classOfHigh.get(c) ?? 0);
  }

  /** Calls `hit(patternId)` for every occurrence of every pattern in `text` (repeats included). */
  scan(text: string, hit: (pattern: number) => void): void {
    const K = this.classCount;
    const low = this.classOfLow;
    const delta = this.delta;
    const outStart = this.outStart;
    const outs = this.outs;
    let row = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      row = delta[row + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (row < 0) {
        row = ~row;
        for (let j = outStart[(row / K) | 0]!; outs[j]! >= 0; j++) hit(outs[j]!);
      }
    }
  }

  /** Does some pattern occur in `text`? */
  test(text: string): boolean {
    const low = this.classOfLow;
    const delta = this.delta;
    let row = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      row = delta[row + (c < 128 ? low[c]! : this.classOf(c))]!;
      if (row < 0) return true;
    }
    return false;
  }
}
