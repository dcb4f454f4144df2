/**
 * The contract every target (kusto, eql, spl, ts) implements. A target turns one rule's IR plus
 * its metadata into a query and, per format, into deployable text. It never throws for a rule it
 * cannot express: it returns a failure that says why (the build reports and skips it, or fails on
 * it when --fail-on names its kind).
 */
import type { Diagnostic } from '../diag/diagnostic.js';
import type { Node } from '../ir/types.js';
import type { CorrelationRule, DetectionRule, LogSource, NativeColumns } from '../model/types.js';

export interface CompileInput {
  /** Path of the rule file, for messages. */
  path: string;
  rule: DetectionRule;
  ir: Node;
}

export interface CorrelationInput {
  /** Path of the rule file, for messages. */
  path: string;
  rule: CorrelationRule;
  /** The referenced rules in the order of `correlation.rules`, resolved by id or name. */
  refs: { ref: string; input: CompileInput | CorrelationInput }[];
}

/** What a build compiles: a detection rule with its IR, or a correlation with its resolved references. */
export type AnyInput = CompileInput | CorrelationInput;

export interface TargetOptions {
  platform: string;
  format: string;
  /** The platform's mapping data, merged with --mapping files (see config/mapping.ts). */
  mapping: unknown;
  /** --index: the indexes the queries and artifacts search, over the platform's setting (targets listing 'index' in artifactOptions). */
  index?: string[];
  /** --enable: deployable content is written enabled (targets listing 'enable' in artifactOptions). */
  enable?: boolean;
}

export type ArtifactOption = 'index' | 'enable';

/** Why a rule did not compile: `unsupported` (the target cannot express it exactly) or `mapping` (unknown field or log source). */
export type FailureKind = 'unsupported' | 'mapping';

/** Where a query reads its events, for targets that choose among several tables of a log source. */
export interface DataSource {
  /** The table the query reads. */
  table: string;
  /** The mapping's name for that kind of data (`defender`, `sysmon`, `security-event`...), when it gives one. */
  name?: string;
  /** Why the log source's earlier candidates were not used, when this is not its first choice. */
  reason?: string;
}

export type CompileResult =
  | {
      ok: true;
      /** The query in the target language (always present, whatever the format). */
      query: string;
      /** The text written for this rule in the requested format (the query itself for `query`). */
      output: string;
      /** File extension of `output`, without the dot. */
      ext: string;
      /** Opt-in approximations that were applied, and choices the user should know of (a fallback table). */
      notes?: string[];
      /**
       * Approximations that a platform makes by default and that concern many rules: reported once
       * per build (with the number of rules), and in each rule's --json row.
       */
      buildNotes?: string[];
      /** The data source the query reads. */
      source?: DataSource;
      /**
       * The query's statements as the target assembled them (targets that build their query in
       * stages): the parameter declarations, then each operator with its text.
       */
      stages?: { parameters: string[]; stages: QueryStage[] };
      /**
       * Where the rule's own code ends in `query` (a UTF-16 offset), when what follows is the same
       * for every rule (an inlined runtime): a catalog of thousands of rules shows the rule's part.
       */
      ruleCodeEnd?: number;
    }
  | { ok: false; kind: FailureKind; error: string };

/**
 * What a platform's mapping names: a log source (the keys it requires; absent keys are free) and
 * the Sigma fields it maps by name for it. Fields a platform passes through unnamed (a fallback
 * namespace, an EventData bag) are not listed. Read by `rulec list` and by `rulec check`'s
 * did-you-mean warnings.
 */
export interface CatalogEntry {
  logsource: { product?: string; category?: string; service?: string };
  fields: string[];
}

/** One statement of a query: its operator, its text, what it comes from, and the IR operand it prints (a detection condition). */
export interface QueryStage {
  kind: string;
  text: string;
  origin: string;
  ir?: Node;
}

/**
 * Where a target reads the events of a log source, as its mapping data says: the Windows event log
 * channel (when the data is a Windows log), the table, index or data set, and the event ids and
 * action types it selects. Read by `rulec explain` for its event coverage.
 */
export interface EventSource {
  store: string;
  channel?: string;
  eventIds: number[];
  actions: string[];
}

/**
 * What a target's deployable content makes of a rule's `output:` fields on one platform: each
 * field's column in the query and where it comes from, and the alert properties that read it;
 * `entities` are the alert entities taken from the results' columns.
 */
export interface AlertFields {
  fields: { field: string; column: string; from: string; uses: string[] }[];
  entities: { entity: string; column: string }[];
  notes: string[];
}

/** A file of a bundled format (e.g. a Splunk app folder), relative to --out. */
export interface BundleFile {
  path: string;
  content: string;
}

export interface Target {
  name: string;
  /** Platforms, the first being the default. */
  platforms: readonly string[];
  /** Formats, the first being `query`. */
  formats: readonly string[];
  /** The build options of TargetOptions this target reads; the build refuses the others. */
  artifactOptions?: readonly ArtifactOption[];
  compile(input: CompileInput, opts: TargetOptions): CompileResult;
  /** Compile a correlation rule; absent: the build refuses correlations for this target (unsupported). */
  compileCorrelation?(input: CorrelationInput, opts: TargetOptions): CompileResult;
  /**
   * Formats whose output is one set of files for the whole build rather than one file per rule.
   * Returns the files to write under --out (and to print without --out), or undefined for a format
   * that writes one file per rule (the build calls this hook whatever the format).
   */
  bundle?(
    format: string,
    results: { input: CompileInput; result: Extract<CompileResult, { ok: true }> }[],
    opts: TargetOptions,
    /** The correlations of the build that compiled (targets whose bundle carries them). */
    correlations?: { input: CorrelationInput; result: Extract<CompileResult, { ok: true }> }[],
  ): BundleFile[] | undefined;
  /** The event sources of a log source on a platform; throws a TargetFailure when the platform has none. */
  eventSources?(ls: LogSource, opts: Pick<TargetOptions, 'platform' | 'mapping'>): EventSource[];
  /**
   * The event source of a rule whose fields are this target's native columns (`native:`): its table
   * on the platform, with the EventIDs and action types the rule's own conditions select; throws a
   * TargetFailure when the platform has no such table.
   */
  nativeEventSource?(native: NativeColumns, ir: Node, opts: Pick<TargetOptions, 'platform' | 'mapping'>): EventSource;
  /** What the platform's alerts make of the rule's output fields (targets whose content uses them). */
  alertFields?(input: CompileInput, opts: Pick<TargetOptions, 'platform' | 'mapping'>): AlertFields;
  /**
   * One line of the target language's comment syntax holding `text` (a single line), for the header
   * that names each rule above its query on stdout. Absent: queries are printed without a header.
   */
  lineComment?(text: string): string;
  /**
   * For `rulec scan --mapping TARGET/PLATFORM`: the platform's event fields (columns) that hold a
   * Sigma field of this log source exactly, as they are (not a file name part, a coded value or a
   * part of a JSON column): the mapping read in reverse. The first view's wins where views differ.
   */
  eventFields?(opts: TargetOptions, logsource: LogSource): { event: string; sigma: string }[];
  /** The log sources and fields the platform's mapping names (see CatalogEntry). */
  catalog?(opts: TargetOptions): CatalogEntry[];
  /**
   * Check emitted queries with the target's own parser or analyzer (loaded lazily). `progress`,
   * when given, is told how many queries are checked so far (a long validation shows progress).
   */
  validate?(queries: { key: string; query: string; input: AnyInput }[], opts: TargetOptions, progress?: (done: number) => void): Promise<Map<string, Diagnostic[]>>;
}

/** Thrown inside a target's compile to abort one rule; turned into a CompileResult failure at the boundary. */
export class TargetFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'TargetFailure';
  }
}

/** Run a compile function and turn a TargetFailure into a failure result. */
/**
 * A rule whose fields are another target's native columns (`native:`, from `rulec import --fields
 * native`) has no Sigma field names for this target's mapping to read: refused, pointing at the
 * import that gives Sigma names.
 */
export function refuseNative(input: CompileInput, target: string): void {
  const n = input.rule.native;
  if (n && n.target !== target) {
    throw new TargetFailure(
      'unsupported',
      `the rule's fields are the native columns of ${n.target} table ${n.table} (platform ${n.platform}, native:), which the ${target} target cannot map; import the query with --fields sigma to build it for ${target}`,
    );
  }
}

export function guard(f: () => CompileResult): CompileResult {
  try {
    return f();
  } catch (e) {
    if (e instanceof TargetFailure) return { ok: false, kind: e.kind, error: e.message };
    throw e;
  }
}

/** The detection rules an input reads: itself, or a correlation's referenced rules, through chained correlations. */
export function baseInputs(input: AnyInput): CompileInput[] {
  return 'ir' in input ? [input] : input.refs.flatMap((r) => baseInputs(r.input));
}
