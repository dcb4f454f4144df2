/**
 * Scanning on several threads (`rulec scan --jobs N`): a JSON Lines file is cut into byte ranges that
 * the workers read themselves (reader.ts readFileRange); other input is cut into batches on the main
 * thread (reader.ts splitEvents: lines as raw bytes, array elements as texts). Each range or batch is
 * parsed and evaluated by a worker that holds the rules (Engine: each compiled when an event first
 * needs it; the main thread checks them all while the workers start), and the workers send back only what
 * a detection reports. The items of each batch are handed on in input order, whatever order the
 * workers finish in, so a consumer on the main thread (the output; a correlation engine) sees every
 * detection in the order one thread finds them, with the event's position and time.
 *
 * One thread (`--jobs 1`) runs the same steps in place (InlineScanner): both deliver the same items,
 * which is what makes the output byte for byte the same.
 */
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deserialize, getHeapStatistics, serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { LoadedRule } from '../collection/load.js';
import { eventTime, ruleKey } from '../correlate/index.js';
import type { DetectionRule, FilterRule, LogSource } from '../model/types.js';
import { Engine, type CompiledRule, type RuleProblem } from './engine.js';
import type { EventView, JsonObject } from './event.js';
import { detect, READ_CHUNK_BYTES, readBatch, readEvents, readFileRange, splitEvents, type InputBatch, type ReadLimits, type ReadSink } from './reader.js';
import type { RuleRoute } from './route.js';

/** What the scan does with each event and detection, the same on every thread. */
export interface ScanSetup {
  /** Use the witness index (EngineOptions.index). */
  index: boolean;
  limits: ReadLimits;
  /** Reported with each detection: for each list, the first field of it with a non-empty text (time, host). */
  facts: readonly (readonly string[])[];
  /** Send each detection's event with it (only when the output prints it: it costs a copy). */
  includeEvent: boolean;
  /** Event field renames applied before evaluation (`scan --mapping`): [event field, Sigma field]. */
  renames: readonly (readonly [string, string])[];
  /**
   * Correlation rules to feed: each detection also carries the event's time and the values of these
   * fields (group-by and aggregated fields), read where the event is, so a correlation engine on the
   * main thread needs no more of the event. `timeFields` replaces the event shape's time fields.
   */
  correlation?: { fields: readonly string[]; timeFields?: readonly string[] };
}

/** What the main thread knows of a compiled rule. */
export interface RuleInfo {
  id: string | undefined;
  title: string;
  level: string | undefined;
  path: string;
  /** The rule's key for correlations (src/correlate ruleKey: id, else name, else path#index). */
  key: string;
  logsource: LogSource;
  route: RuleRoute;
}

/** What a correlation reads of a detection's event: its time (ms, or why there is none) and the values of ScanSetup.correlation.fields. */
export interface CorrelationFacts {
  time: number | string;
  values: unknown[];
}

/** One thing the scan found, in input order. `line` is the event's line in its input. */
export type ScanItem =
  | { kind: 'detection'; rule: number; line: number; facts: (string | null)[]; event?: JsonObject; corr?: CorrelationFacts }
  | { kind: 'malformed'; line: number; reason: string }
  /** An event without a log source to route by (only the first of a batch is reported). */
  | { kind: 'no-origin'; line: number }
  /** `n` more events were evaluated. */
  | { kind: 'events'; n: number };

export type ItemSink = (item: ScanItem) => void;

/** A file's path, or a stream (standard input). */
export type ScanInput = string | AsyncIterable<Uint8Array>;

/** How much of a JSON Lines file a worker reads at a time (a batch). */
const RANGE_BYTES = READ_CHUNK_BYTES;

async function* counting(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.byteLength);
    yield chunk;
  }
}

/** Whether a file is JSON Lines (its first non-blank character is not `[`), read as readEvents tells them apart. */
function isJsonLinesFile(file: string): boolean {
  if (!statSync(file).isFile()) return false;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return false;
      const mode = detect(buf.subarray(0, n));
      if (mode !== undefined) return mode === 'lines';
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

export interface Scanner {
  /** Every detection rule of the collection that compiled, in collection order. */
  readonly compiled: readonly RuleInfo[];
  readonly problems: readonly RuleProblem[];
  /**
   * The rules to scan with, as indices into `compiled`; detections name a rule by its position in
   * this list. Events without a log source run all of them or only those without one.
   */
  choose(indices: readonly number[], unknownOrigin: 'all' | 'unconstrained'): void;
  /** Scan a file (by its path) or a stream; `onBytes` is told of the input as it is read. */
  scan(input: ScanInput, sink: ItemSink, stop?: () => boolean, onBytes?: (n: number) => void): Promise<void>;
  close(): Promise<void>;
  /** Worker threads used (0: the calling thread). */
  readonly workers: number;
  /** What each worker used so far (none on the calling thread). */
  stats?(): Promise<WorkerStats[]>;
}

/** The first field of `fields` whose value is a non-empty string or a number, as text. */
export function firstText(view: EventView, fields: readonly string[]): string | null {
  for (const f of fields) {
    const v = view.get(f);
    if ((typeof v === 'string' && v !== '') || typeof v === 'number') return String(v);
  }
  return null;
}

/** The event with each renamed field copied under its Sigma name, unless the event has that name. */
export function renamed(event: JsonObject, renames: ScanSetup['renames']): JsonObject {
  let out: JsonObject | undefined;
  for (const [from, to] of renames) {
    if (!(from in event) || to in event) continue;
    out ??= { ...event };
    out[to] = event[from];
  }
  return out ?? event;
}

function info(r: CompiledRule): RuleInfo {
  return { id: r.id, title: r.title, level: r.level, path: r.path, key: ruleKey(r.source), logsource: r.logsource, route: r.route };
}

/** The rules, and, once chosen, the engine that scans: the same code on every thread. */
class Evaluation {
  readonly all: CompiledRule[];
  readonly problems: RuleProblem[];
  engine: Engine | undefined;

  /**
   * `check: false` (a worker): every detection rule is kept, unchecked; the thread that sent them
   * checked them and chooses only rules that compile.
   */
  constructor(
    rules: readonly LoadedRule[],
    readonly setup: ScanSetup,
    check: boolean,
    onRule?: (done: number, total: number) => void,
  ) {
    const { engine, problems } = Engine.fromLoaded(rules, { index: setup.index, check }, onRule);
    this.all = engine.rules;
    this.problems = problems;
  }

  choose(indices: readonly number[], unknownOrigin: 'all' | 'unconstrained'): void {
    this.engine = new Engine(
      indices.map((i, index) => this.all[i]!.withIndex(index)),
      { index: this.setup.index, unknownOrigin },
    );
  }

  /** Evaluate one event, handing what it gives to `sink`. */
  evaluate(raw: JsonObject, line: number, sink: ItemSink): void {
    const engine = this.engine!;
    const event = this.setup.renames.length ? renamed(raw, this.setup.renames) : raw;
    const without = engine.eventsWithoutOrigin;
    const correlation = this.setup.correlation;
    let corr: CorrelationFacts | undefined;
    // Read once per event and shared by its detections (also in the message a worker sends back).
    let facts: (string | null)[] | undefined;
    engine.evaluate(event, (rule, view) => {
      facts ??= this.setup.facts.map((f) => firstText(view, f));
      const item: ScanItem = { kind: 'detection', rule: rule.index, line, facts };
      if (this.setup.includeEvent) item.event = event;
      if (correlation) {
        // Read once per event, whichever of its detections a correlation turns out to want.
        if (!corr) {
          const t = eventTime(event, view, correlation.timeFields);
          corr = { time: 'error' in t ? t.error : t.time, values: correlation.fields.map((f) => view.get(f)) };
        }
        item.corr = corr;
      }
      sink(item);
    });
    if (engine.eventsWithoutOrigin > without) sink({ kind: 'no-origin', line });
  }

  /** What one batch gives, with its event count last. */
  batch(batch: InputBatch): Results {
    const out = new ResultWriter();
    this.collect(out, (sink) => readBatch(batch, sink, this.setup.limits));
    return out.take();
  }

  /** What a range of a JSON Lines file gives (readFileRange), lines numbered from 1 in it, and its line count. */
  range(file: string, start: number, end: number): { results: Results; lines: number } {
    const fd = openSync(file, 'r');
    try {
      const out = new ResultWriter();
      let lines = 0;
      this.collect(out, (sink) => (lines = readFileRange(fd, start, end, sink, this.setup.limits)));
      return { results: out.take(), lines };
    } finally {
      closeSync(fd);
    }
  }

  private collect(out: ResultWriter, read: (sink: ReadSink) => void): void {
    let events = 0;
    let saidNoOrigin = false;
    const push: ItemSink = (item) => {
      if (item.kind === 'no-origin') {
        if (saidNoOrigin) return;
        saidNoOrigin = true;
      }
      out.add(item);
    };
    read((item) => {
      if (item.kind === 'malformed') out.add(item);
      else {
        events++;
        this.evaluate(item.event, item.line, push);
      }
    });
    out.add({ kind: 'events', n: events });
  }
}

/**
 * What a worker sends back for a batch or range: its items as numbers, not objects. A structured
 * clone of one object per detection (with its facts) cost the worker and the main thread about an
 * eighth of a worker's CPU on the bench (docs/performance.md); numbers in a transferred buffer cost
 * nothing to send. `numbers` holds, per item: DETECTION line rule fresh, MALFORMED line, NO_ORIGIN
 * line, EVENTS n. `fresh` is 1 on an event's first detection: that event's facts (ScanSetup.facts,
 * one text each) follow in `texts`, and in `values` its event (includeEvent) and its correlation
 * facts (correlation); later detections of the event share them, as they do on one thread. A
 * malformed event's reason is in `texts`.
 */
export interface Results {
  /** Doubles, not 32-bit integers: a stream's line numbers may pass 2^31. */
  numbers: Float64Array;
  texts: (string | null)[];
  values: unknown[];
}

const DETECTION = 0;
const MALFORMED = 1;
const NO_ORIGIN = 2;
const EVENTS = 3;

/** Encodes ScanItems into Results as they come, so that none is kept (the worker's side). */
class ResultWriter {
  private numbers = new Float64Array(4096);
  private n = 0;
  private readonly texts: (string | null)[] = [];
  private readonly values: unknown[] = [];
  private lastFacts: unknown;

  add(item: ScanItem): void {
    switch (item.kind) {
      case 'detection': {
        const fresh = item.facts !== this.lastFacts;
        this.put(DETECTION, item.line, item.rule, fresh ? 1 : 0);
        if (!fresh) return;
        this.lastFacts = item.facts;
        for (const f of item.facts) this.texts.push(f);
        if (item.event) this.values.push(item.event);
        if (item.corr) this.values.push(item.corr);
        return;
      }
      case 'malformed':
        this.put(MALFORMED, item.line);
        this.texts.push(item.reason);
        return;
      case 'no-origin':
        this.put(NO_ORIGIN, item.line);
        return;
      case 'events':
        this.put(EVENTS, item.n);
    }
  }

  private put(a: number, b: number, c?: number, d?: number): void {
    if (this.n + 4 > this.numbers.length) {
      const next = new Float64Array(this.numbers.length * 2);
      next.set(this.numbers);
      this.numbers = next;
    }
    this.numbers[this.n++] = a;
    this.numbers[this.n++] = b;
    if (c !== undefined) this.numbers[this.n++] = c;
    if (d !== undefined) this.numbers[this.n++] = d;
  }

  take(): Results {
    return { numbers: this.numbers.slice(0, this.n), texts: this.texts, values: this.values };
  }
}

/**
 * Hands the items of Results on to `sink` in order, each event line moved on by `lineBase` (file
 * ranges number their lines from 1).
 */
function readResults(r: Results, setup: ScanSetup, lineBase: number, sink: ItemSink): void {
  const { numbers, texts, values } = r;
  const factCount = setup.facts.length;
  let t = 0;
  let v = 0;
  let facts: (string | null)[] = [];
  let event: JsonObject | undefined;
  let corr: CorrelationFacts | undefined;
  for (let i = 0; i < numbers.length; ) {
    const op = numbers[i]!;
    if (op === DETECTION) {
      const line = numbers[i + 1]! + lineBase;
      const rule = numbers[i + 2]!;
      if (numbers[i + 3] === 1) {
        facts = texts.slice(t, t + factCount);
        t += factCount;
        if (setup.includeEvent) event = values[v++] as JsonObject;
        if (setup.correlation) corr = values[v++] as CorrelationFacts;
      }
      i += 4;
      const item: ScanItem = { kind: 'detection', rule, line, facts };
      if (setup.includeEvent) item.event = event;
      if (setup.correlation) item.corr = corr;
      sink(item);
    } else if (op === MALFORMED) {
      sink({ kind: 'malformed', line: numbers[i + 1]! + lineBase, reason: texts[t++]! });
      i += 2;
    } else if (op === NO_ORIGIN) {
      sink({ kind: 'no-origin', line: numbers[i + 1]! + lineBase });
      i += 2;
    } else {
      sink({ kind: 'events', n: numbers[i + 1]! });
      i += 2;
    }
  }
}

/** `--jobs 1`: everything on the calling thread, reading with readEvents as before. */
class InlineScanner implements Scanner {
  readonly workers = 0;
  private readonly evaluation: Evaluation;
  readonly compiled: RuleInfo[];

  constructor(rules: readonly LoadedRule[], setup: ScanSetup, onRule?: (done: number, total: number) => void) {
    this.evaluation = new Evaluation(rules, setup, true, onRule);
    this.compiled = this.evaluation.all.map(info);
  }
  get problems(): readonly RuleProblem[] {
    return this.evaluation.problems;
  }
  choose(indices: readonly number[], unknownOrigin: 'all' | 'unconstrained'): void {
    this.evaluation.choose(indices, unknownOrigin);
  }
  async scan(input: ScanInput, sink: ItemSink, stop?: () => boolean, onBytes: (n: number) => void = () => {}): Promise<void> {
    const one: ScanItem = { kind: 'events', n: 1 };
    const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: READ_CHUNK_BYTES }) : input;
    await readEvents(
      counting(source, onBytes),
      (item) => {
        if (item.kind === 'malformed') sink(item);
        else {
          this.evaluation.evaluate(item.event, item.line, sink);
          sink(one);
        }
      },
      this.evaluation.setup.limits,
      stop,
    );
  }
  async close(): Promise<void> {}
}

/** Messages between the main thread and a scan worker. */
export type ToWorker =
  /** `rules`: engineInput's rules, v8-serialized once for every worker (a structured clone per postMessage would serialize them once per worker). */
  | { type: 'init'; rules: Uint8Array; setup: ScanSetup }
  | { type: 'choose'; indices: readonly number[]; unknownOrigin: 'all' | 'unconstrained' }
  | { type: 'batch'; seq: number; batch: InputBatch }
  | { type: 'range'; seq: number; file: string; start: number; end: number }
  | { type: 'stats' };
export type FromWorker =
  | { type: 'ready' }
  /** `lines`: a file range's results, lines numbered from 1 at its first line, and how many lines start in it. */
  | { type: 'result'; seq: number; results: Results; lines?: number }
  | ({ type: 'stats' } & WorkerStats);

/** What a worker thread used (the benchmark reports it). */
export interface WorkerStats {
  /** Its V8 heap's peak physical size, sampled after each batch, in MB. */
  heapPeakMb: number;
  /** CPU time of its thread since the rules were chosen (scanning), in seconds; undefined where the system does not tell. */
  scanCpuSeconds: number | undefined;
  /** CPU time of its thread from its start to holding the rules (loading its code, receiving and building them). */
  readyCpuSeconds: number | undefined;
}

/**
 * CPU time of the calling thread, in seconds (Linux: /proc/thread-self/schedstat), or undefined.
 * Unlike wall-clock time it does not grow when other processes take the cores, so the benchmark can
 * tell what the threads cost on a busy machine.
 */
export function threadCpuSeconds(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return undefined;
  }
}

/** The worker's side of the messages (scan-worker.ts runs it). */
export function serveWorker(port: { on(e: 'message', f: (m: ToWorker) => void): void; postMessage(m: FromWorker, transfer?: ArrayBuffer[]): void }): void {
  let evaluation: Evaluation | undefined;
  let heapPeak = 0;
  let cpuAtChoose: number | undefined;
  let cpuAtReady: number | undefined;
  port.on('message', (m) => {
    if (m.type === 'stats') {
      const cpu = threadCpuSeconds();
      port.postMessage({ type: 'stats', heapPeakMb: heapPeak / 1048576, scanCpuSeconds: cpu === undefined || cpuAtChoose === undefined ? undefined : cpu - cpuAtChoose, readyCpuSeconds: cpuAtReady });
      return;
    }
    if (m.type === 'choose') cpuAtChoose = threadCpuSeconds();
    heapPeak = Math.max(heapPeak, getHeapStatistics().total_physical_size);
    if (m.type === 'init') {
      evaluation = new Evaluation(deserialize(m.rules) as LoadedRule[], m.setup, false);
      cpuAtReady = threadCpuSeconds();
      port.postMessage({ type: 'ready' });
    } else if (m.type === 'choose') evaluation!.choose(m.indices, m.unknownOrigin);
    else if (m.type === 'range') {
      const { results, lines } = evaluation!.range(m.file, m.start, m.end);
      port.postMessage({ type: 'result', seq: m.seq, results, lines }, [results.numbers.buffer as ArrayBuffer]);
    } else {
      const results = evaluation!.batch(m.batch);
      port.postMessage({ type: 'result', seq: m.seq, results }, [results.numbers.buffer as ArrayBuffer]);
    }
  });
}

/**
 * What the engine reads of a loaded collection (Engine.fromLoaded: effectiveIr, CompiledRule), sent
 * to each worker instead of the whole documents: a third of the bytes to copy (5 MB against 13 MB
 * for the SigmaHQ corpus) and a fraction of the time to rebuild. Rules without IR compile to nothing
 * and are left out.
 */
export function engineInput(rules: readonly LoadedRule[]): LoadedRule[] {
  const out: LoadedRule[] = [];
  for (const r of rules) {
    const rule = r.rule;
    if (!r.ir || !rule || rule.kind === 'correlation') continue;
    const slim: LoadedRule = { path: r.path, index: r.index, diagnostics: [], ir: r.ir };
    if (r.id !== undefined) slim.id = r.id;
    if (r.title !== undefined) slim.title = r.title;
    const { kind, id, name, title, level, at, logsource } = rule;
    const meta = { kind, id, name, title, level, at, logsource };
    slim.rule = (rule.kind === 'filter' ? { ...meta, filter: { rules: rule.filter.rules } } : meta) as DetectionRule | FilterRule;
    out.push(slim);
  }
  return out;
}

/**
 * The worker script: beside this module when running the build; when this module runs from source
 * (vitest), the build's (`npm test` builds first) since a worker thread cannot load TypeScript.
 */
function workerScript(): URL {
  const here = new URL('./scan-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/eval/scan-worker.js', import.meta.url);
}

/**
 * A worker's young generation, in MB (V8 gives a third to each of its two semi-spaces): twice the
 * default. A scan allocates fast and keeps little (each event's objects die with it), so fewer
 * scavenges cost less: two workers over the bench events spent about 6 % less CPU in all (7 of 8
 * alternating pairs; a 6 MB one cost 15 to 20 % more), for about 38 MB more RSS each
 * (docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 96;

/** Batches in flight per worker: enough that a worker never waits for the next one, few enough to bound memory (1 MiB each). */
const IN_FLIGHT = 3;

interface Slot {
  worker: Worker;
  busy: number;
}

/** Scan workers. Start them early (`start`) so that their start-up overlaps rule loading. */
export class PoolScanner implements Scanner {
  compiled: RuleInfo[] = [];
  problems: RuleProblem[] = [];
  /** Where each rule of `compiled` is in the workers' (unchecked) rule list. */
  private positions: number[] = [];
  private readonly slots: Slot[];
  private failure: Error | undefined;
  private closing = false;
  private readonly results = new Map<number, { results: Results; lines?: number }>();
  /** Hands on finished batches at once, while the input may be waiting (`tail -f | rulec scan -`). */
  private drain: () => void = () => {};
  private onResult: () => void = () => {};
  private setup: ScanSetup | undefined;
  private seq = 0;

  constructor(readonly workers: number) {
    const script = workerScript();
    this.slots = Array.from({ length: workers }, () => {
      const worker = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
      const slot: Slot = { worker, busy: 0 };
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a scan worker stopped (exit code ${code})`));
      });
      worker.on('message', (m: FromWorker) => {
        if (m.type !== 'result') return;
        slot.busy--;
        this.results.set(m.seq, m);
        this.drain();
        this.onResult();
      });
      // An idle worker never keeps the process alive (a usage error between start and scan must
      // still end it): workers are held only while they are waited for (`held`). After the
      // listeners: adding a 'message' listener holds the worker again.
      worker.unref();
      return slot;
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.onResult();
  }

  /** Run `work` with the workers keeping the process alive, as it waits for them. */
  private async held<T>(work: () => Promise<T>): Promise<T> {
    for (const s of this.slots) s.worker.ref();
    try {
      return await work();
    } finally {
      for (const s of this.slots) s.worker.unref();
    }
  }

  /** Send the rules; resolves when every worker holds them and this thread checked them (`compiled`, `problems`). */
  async init(rules: readonly LoadedRule[], setup: ScanSetup, onRule: (done: number, total: number) => void = () => {}): Promise<void> {
    await this.held(() => this.compile(rules, setup, onRule));
  }

  private async compile(rules: readonly LoadedRule[], setup: ScanSetup, onRule: (done: number, total: number) => void): Promise<void> {
    this.setup = setup;
    const input = engineInput(rules);
    // Serialized once; each postMessage then copies bytes instead of walking the rules again.
    const bytes = serialize(input);
    const ready = this.slots.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromWorker): void => {
            if (m.type !== 'ready') return;
            s.worker.off('message', onMessage);
            resolve();
          };
          s.worker.on('message', onMessage);
          s.worker.once('error', reject);
          s.worker.postMessage({ type: 'init', rules: bytes, setup } satisfies ToWorker);
        }),
    );
    // While the workers build their rules (unchecked), this thread checks the same list: which
    // rules compile, and the problem of each that does not. Workers are told positions in that list.
    const { engine } = Engine.fromLoaded(input, { index: setup.index, check: false }, onRule);
    const { ok, problems } = Engine.check(engine.rules);
    const position = new Map(engine.rules.map((r) => [r.source, r.index]));
    this.compiled = ok.map(info);
    this.positions = ok.map((r) => position.get(r.source)!);
    this.problems = problems;
    await Promise.all(ready);
  }

  choose(indices: readonly number[], unknownOrigin: 'all' | 'unconstrained'): void {
    const positions = indices.map((i) => this.positions[i]!);
    for (const s of this.slots) s.worker.postMessage({ type: 'choose', indices: positions, unknownOrigin } satisfies ToWorker);
  }

  async scan(input: ScanInput, sink: ItemSink, stop?: () => boolean, onBytes: (n: number) => void = () => {}): Promise<void> {
    await this.held(() => this.scanHeld(input, sink, stop, onBytes));
  }

  private async scanHeld(input: ScanInput, sink: ItemSink, stop: (() => boolean) | undefined, onBytes: (n: number) => void): Promise<void> {
    const file = typeof input === 'string' ? input : undefined;
    const setup = this.setup!;
    const lines = file !== undefined && isJsonLinesFile(file);
    // Numbered on from the last scan: a late result of an input that failed is never taken for this one's.
    let seq = this.seq;
    let next = seq;
    // File ranges number their lines from 1: each is moved on by the lines of the ranges before it.
    let base = 1;
    this.results.clear();
    // Hand on every finished batch that is next in input order.
    this.drain = (): void => {
      for (let r = this.results.get(next); r !== undefined; r = this.results.get(next)) {
        this.results.delete(next);
        next++;
        readResults(r.results, setup, r.lines !== undefined ? base - 1 : 0, sink);
        if (r.lines !== undefined) base += r.lines;
      }
    };
    const settled = (): Promise<void> =>
      new Promise((resolve) => {
        this.onResult = () => {
          this.onResult = () => {};
          resolve();
        };
      });
    const check = (): void => {
      if (this.failure) throw this.failure;
    };
    const send = async (message: (seq: number) => ToWorker, transfer: ArrayBuffer[] = []): Promise<void> => {
      check();
      let slot = this.leastBusy();
      // Also bounded: results that wait for an earlier batch of a slower worker.
      while (slot.busy >= IN_FLIGHT || seq - next >= 2 * IN_FLIGHT * this.workers) {
        await settled();
        check();
        slot = this.leastBusy();
      }
      slot.busy++;
      slot.worker.postMessage(message(seq++), transfer);
    };
    try {
      if (file !== undefined && lines) {
        // JSON Lines in a file: workers read their ranges themselves; this thread reads nothing.
        const size = statSync(file).size;
        for (let start = 0; start < size && !stop?.(); start += RANGE_BYTES) {
          const end = Math.min(size, start + RANGE_BYTES);
          await send((n) => ({ type: 'range', seq: n, file, start, end }));
          onBytes(end - start);
        }
      } else {
        const source = file !== undefined ? createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }) : (input as AsyncIterable<Uint8Array>);
        await splitEvents(
          counting(source, onBytes),
          (batch) => send((n) => ({ type: 'batch', seq: n, batch }), batch.kind === 'lines' ? [batch.bytes.buffer as ArrayBuffer] : []),
          setup.limits,
          stop,
        );
      }
      while (next < seq) {
        await settled();
        check();
      }
    } finally {
      this.drain = () => {};
      this.seq = seq;
    }
  }

  /** What each worker used so far. */
  async stats(): Promise<WorkerStats[]> {
    return this.held(() => this.askStats());
  }

  private askStats(): Promise<WorkerStats[]> {
    return Promise.all(
      this.slots.map(
        (s) =>
          new Promise<WorkerStats>((resolve) => {
            const onMessage = (m: FromWorker): void => {
              if (m.type !== 'stats') return;
              s.worker.off('message', onMessage);
              resolve({ heapPeakMb: m.heapPeakMb, scanCpuSeconds: m.scanCpuSeconds, readyCpuSeconds: m.readyCpuSeconds });
            };
            s.worker.on('message', onMessage);
            s.worker.postMessage({ type: 'stats' } satisfies ToWorker);
          }),
      ),
    );
  }

  private leastBusy(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.busy < best.busy) best = s;
    return best;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/**
 * Compile the rules for a scan on `jobs` threads: 1 is the calling thread; more start worker
 * threads, each holding the rules. `starting` (from `startWorkers`, called before the rules were
 * loaded) is used when given.
 */
export async function scanner(
  rules: readonly LoadedRule[],
  setup: ScanSetup,
  jobs: number,
  starting?: Promise<PoolScanner>,
  onRule?: (done: number, total: number) => void,
): Promise<Scanner> {
  if (jobs <= 1) return new InlineScanner(rules, setup, onRule);
  const pool = starting ? await starting : new PoolScanner(jobs);
  try {
    await pool.init(rules, setup, onRule);
  } catch (e) {
    await pool.close();
    throw e;
  }
  return pool;
}

/** Start `jobs` workers now (loading their code while the caller loads the rules). */
export function startWorkers(jobs: number): Promise<PoolScanner> {
  return Promise.resolve(new PoolScanner(jobs));
}
