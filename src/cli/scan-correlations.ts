/**
 * Correlation rules in `rulec scan`: which rules run for them, which detections are reported
 * (`generate`), the engine fed in input order (one engine per input file: docs/semantics.md 8.2), and
 * the hits as table rows or JSON records. The engine itself is src/correlate.
 */
import type { LoadedRule } from '../collection/load.js';
import { CorrelationEngine, CorrelationHit, CorrelationInputError, correlationSetup, fieldsRead, ruleKey, specOf, type CorrelationSetup, type Contribution } from '../correlate/index.js';
import type { JsonObject } from '../eval/event.js';
import type { CorrelationFacts } from '../eval/parallel.js';
import type { Output } from './output.js';

/**
 * An event as the scan hands it to the engine: its time and the fields correlations read (read by
 * the thread that evaluated it: CorrelationFacts), the event itself when the output prints it, and
 * where it is.
 */
export interface ScanEvent {
  facts: CorrelationFacts;
  raw: JsonObject | undefined;
  file: string;
  line: number;
}

/** The fields correlations read of their rules' events: group-by fields, their aliases, aggregated fields. */
export function correlationFields(rules: readonly LoadedRule[]): string[] {
  // Read as the engine reads them (specOf), before the references are resolved: they name no field.
  const out = new Set<string>();
  for (const r of rules) if (r.rule?.kind === 'correlation') for (const f of fieldsRead(specOf(r.rule, '', []))) out.add(f);
  return [...out];
}

export interface ScanCorrelationOptions {
  json?: boolean;
  includeEvent?: boolean;
  /** ms. */
  reorder: number;
  /** Report the matches of referenced rules even where `generate` is false. */
  allMatches?: boolean;
}

/** What a correlation hit says about its rule in the table, the JSON and the summary. */
export interface CorrelationRuleInfo {
  id: string | undefined;
  title: string;
  level: string | undefined;
  path: string;
  type: string;
}

const MAX_SHOWN = 20;

export class ScanCorrelations {
  readonly setup: CorrelationSetup;
  private engine: CorrelationEngine<ScanEvent> | undefined;
  /** Correlations whose hits are reported (by key): level chosen, and not hidden by `generate`. */
  private readonly shown: Set<string>;
  readonly info = new Map<string, CorrelationRuleInfo>();
  hits = 0;
  errors = 0;
  /** Hits per correlation key (the summary). */
  readonly counts = new Map<string, number>();

  /** Where each of `fields` is in an event's CorrelationFacts.values. */
  private readonly slot: Map<string, number>;

  private constructor(
    setup: CorrelationSetup,
    private readonly opts: ScanCorrelationOptions,
    private readonly io: Output,
    chosen: (r: LoadedRule) => boolean,
    readonly fields: readonly string[],
  ) {
    this.setup = setup;
    this.slot = new Map(fields.map((f, i) => [f, i]));
    this.shown = new Set();
    for (const [key, r] of setup.rules) {
      const rule = r.rule!;
      this.info.set(key, { id: rule.id, title: rule.title, level: rule.level, path: r.path, type: rule.kind === 'correlation' ? rule.correlation.type : '' });
      if (chosen(r) && this.reports(r)) this.shown.add(key);
    }
  }

  /**
   * The correlations of a collection; `runnable` says which detection rules the evaluator compiled,
   * `chosen` which rules the scan's level filter keeps (a correlation's referenced rules run whatever their level).
   */
  static create(rules: readonly LoadedRule[], fields: readonly string[], runnable: (r: LoadedRule) => boolean, chosen: (r: LoadedRule) => boolean, opts: ScanCorrelationOptions, io: Output): ScanCorrelations | undefined {
    if (!rules.some((r) => r.rule?.kind === 'correlation')) return undefined;
    return new ScanCorrelations(correlationSetup(rules, runnable), opts, io, chosen, fields);
  }

  /** Whether a detection of this rule is reported on its own (docs/semantics.md 8.8). */
  reports(r: LoadedRule): boolean {
    return this.opts.allMatches === true || !this.setup.referenced.has(r) || this.setup.generated.has(r);
  }

  /** Whether the evaluator must run this rule for some correlation. */
  needs(r: LoadedRule): boolean {
    return this.setup.referenced.has(r);
  }

  /**
   * Why correlations whose level the scan keeps cannot hit: a detection rule they need does not run
   * (`running` says which do; --logsource leaves the others out). A chain is named at its first link.
   */
  outOfScope(running: (r: LoadedRule) => boolean): { correlation: string; rule: string }[] {
    const out: { correlation: string; rule: string }[] = [];
    for (const spec of this.setup.specs) {
      if (!this.shown.has(spec.key)) continue;
      const missing = spec.refs.map((k) => this.setup.byKey.get(k)).find((r) => r !== undefined && r.rule?.kind === 'detection' && !running(r));
      if (missing) out.push({ correlation: this.info.get(spec.key)!.title, rule: missing.rule!.title });
    }
    return out;
  }

  /** A new input file: correlation state does not carry over (its times are another stream). */
  startFile(): void {
    this.engine = new CorrelationEngine<ScanEvent>(this.setup.specs, {
      field: (e, name) => {
        const i = this.slot.get(name);
        return i === undefined ? undefined : e.facts.values[i];
      },
      reorder: this.opts.reorder,
    });
  }

  /** The rules one event matched, in rule order. */
  event(ev: ScanEvent, matched: readonly LoadedRule[]): void {
    const engine = this.engine!;
    const time = ev.facts.time;
    for (const rule of matched) {
      const key = ruleKey(rule);
      if (!engine.wants(key)) continue;
      if (typeof time === 'string') {
        this.error(ev, `event cannot be correlated (rule '${rule.rule?.title ?? key}' matched it): ${time}`);
        return;
      }
      try {
        this.emit(engine.push({ rule: key, event: ev, time, position: ev }));
      } catch (e) {
        if (!(e instanceof CorrelationInputError)) throw e;
        this.error(ev, `event cannot be correlated: ${e.message}`);
        return;
      }
    }
  }

  endFile(): void {
    if (this.engine) this.emit(this.engine.flush());
    this.engine = undefined;
  }

  private error(ev: ScanEvent, message: string): void {
    this.errors++;
    if (this.errors <= MAX_SHOWN) this.io.err(`${ev.file}:${ev.line}: error: ${message}`);
    else if (this.errors === MAX_SHOWN + 1) this.io.err('... more events that cannot be correlated are counted, not shown');
  }

  private emit(hits: readonly CorrelationHit<ScanEvent>[]): void {
    for (const h of hits) {
      if (!this.shown.has(h.rule)) continue;
      this.hits++;
      this.counts.set(h.rule, (this.counts.get(h.rule) ?? 0) + 1);
      const info = this.info.get(h.rule)!;
      if (this.opts.json) this.io.json(this.record(h, info));
      else this.io.out(this.row(h, info));
    }
  }

  private record(h: CorrelationHit<ScanEvent>, info: CorrelationRuleInfo): Record<string, unknown> {
    return {
      kind: 'correlation',
      rule: { id: info.id ?? null, title: info.title },
      level: info.level ?? null,
      type: info.type,
      group: h.group,
      window: { start: iso(h.window.start), end: iso(h.window.end) },
      value: h.value,
      events: h.events.map((c) => this.eventRecord(c)),
    };
  }

  private eventRecord(c: Contribution<ScanEvent>): unknown {
    const e = c.event;
    if (e instanceof CorrelationHit) {
      const info = this.info.get(e.rule)!;
      return { kind: 'correlation', rule: { id: info.id ?? null, title: info.title }, group: e.group, window: { start: iso(e.window.start), end: iso(e.window.end) }, value: e.value };
    }
    if (!this.opts.includeEvent) return `${e.file}:${e.line}`;
    return { file: e.file, line: e.line, time: iso(c.time), rules: c.rules, event: e.raw };
  }

  private row(h: CorrelationHit<ScanEvent>, info: CorrelationRuleInfo): string {
    const last = h.events[h.events.length - 1]!.event;
    const where = last instanceof CorrelationHit ? '(correlation)' : `${last.file}:${last.line}`;
    const group = Object.entries(h.group).map(([k, v]) => `${k}=${v}`).join(' ') || '(all events)';
    return (
      `${where}  ${iso(h.window.end)}  -  ${(info.level ?? '-').padEnd(13)}  ${info.title}${info.id ? `  (${info.id})` : ''}` +
      `  [${info.type} ${group}: value ${h.value}, ${h.events.length} event${h.events.length === 1 ? '' : 's'} since ${iso(h.window.start)}]`
    );
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
