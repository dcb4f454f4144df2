/**
 * The adapter to Microsoft's Kusto.Language (`@kusto/language-service-next`, pinned at 12.4.1): the
 * only module that touches its Bridge.NET API, so the generated constructor names (`ctor`, `$ctor3`,
 * which change between versions and fail silently when wrong) live in one small tested place. The
 * library is CommonJS that installs globals: `bridge.js` must be required before
 * `Kusto.Language.Bridge.js`. It takes most of a second to load, so nothing imports it eagerly:
 * `rulec build` loads it only with --validate. The package's minified builds are loaded: the same
 * code (the same trees, diagnostics and result types over the Sentinel corpus) in a quarter of the
 * text, which V8 scans in half the time of the 16 MB readable build (docs/performance.md#import).
 */
import { createRequire } from 'node:module';
import type { TableSchema } from './mapping.js';
import { identifier } from './dialect.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Bridged = any;

let kusto: Bridged | undefined;

function load(): Bridged {
  if (kusto) return kusto;
  const require = createRequire(import.meta.url);
  require('@kusto/language-service-next/bridge.min.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
  kusto = (globalThis as Bridged).Kusto.Language;
  if (!kusto?.KustoCode?.ParseAndAnalyze) throw new Error('Kusto.Language did not load (expected the global Kusto.Language.KustoCode)');
  return kusto;
}

export interface KustoDiagnostic {
  code: string;
  severity: string;
  message: string;
  /** Offset and length in the query text. */
  start: number;
  length: number;
}

/** Analyzes queries against a fixed set of tables (one database holding them all). */
export class KustoAnalyzer {
  private readonly globals: Bridged;

  constructor(tables: ReadonlyMap<string, TableSchema>) {
    const K = load();
    const symbols = [...tables].map(([name, cols]) =>
      K.Symbols.TableSymbol.From(`(${[...cols].map(([c, t]) => `${identifier(c)}:${t}`).join(', ')})`).WithName(name),
    );
    const db = new K.Symbols.DatabaseSymbol.ctor('rulec', symbols);
    this.globals = K.GlobalState.Default.WithDatabase(db);
  }

  /** Every diagnostic of parsing and semantic analysis (unknown names, type errors, syntax). */
  analyze(query: string): KustoDiagnostic[] {
    const K = load();
    const code = K.KustoCode.ParseAndAnalyze(query, this.globals);
    return toDiagnostics(code.GetDiagnostics());
  }

  /** The analyzed result's columns (name -> Kusto type name). */
  resultColumns(query: string): Map<string, string> {
    const K = load();
    const code = K.KustoCode.ParseAndAnalyze(query, this.globals);
    const out = new Map<string, string>();
    const cols = code.ResultType?.Columns;
    if (cols) for (const c of (globalThis as Bridged).Bridge.toArray(cols)) out.set(c.Name, c.Type?.Name ?? '');
    return out;
  }
}

function toDiagnostics(list: Bridged, base = 0): KustoDiagnostic[] {
  const Bridge = (globalThis as Bridged).Bridge;
  return (Bridge.toArray(list) as Bridged[]).map((d) => ({
    code: String(d.Code),
    severity: String(d.Severity),
    message: String(d.Message),
    start: Number(d.Start) + base,
    length: Number(d.Length),
  }));
}

/** A syntax tree as plain data: node kinds by name, tokens with their text and decoded value. */
export interface SyntaxNode {
  kind: string;
  /** Tokens only: the text as written and its value (a string literal's decoded text). */
  text?: string;
  valueText?: string;
  /** Offset of the node's text (after its leading trivia) in the query. */
  start: number;
  /** Tokens only: the whitespace and comments before the token (the importer keeps the comments). */
  trivia?: string;
  children: SyntaxNode[];
}

let kindNames: Map<number, string> | undefined;

let parseOptions: Bridged | undefined;

function names(K: Bridged): Map<number, string> {
  if (!kindNames) {
    kindNames = new Map();
    const SK = K.Syntax.SyntaxKind;
    for (const k of Object.keys(SK)) if (typeof SK[k] === 'number') kindNames.set(SK[k], k);
  }
  return kindNames;
}

/**
 * Parses (syntax only) and returns the tree and the syntax diagnostics. A query is parsed the way
 * KustoCode.Parse does (tokens, then the query parser, end tokens kept), without building the
 * query grammar KustoCode.Parse also makes (over a second of CPU the first time, and the default
 * parser does not use it); a control command goes through KustoCode.Parse. The tree's children
 * are converted when first read: a reader that stops early (the importer refusing a `join`) does
 * not pay for the rest.
 */
export function parseKql(query: string): { root: SyntaxNode; diagnostics: KustoDiagnostic[] } {
  // A reader may parse the same text again (the tree is read-only; its lazy children are filled in once either way).
  if (lastParse?.query === query) return lastParse.result;
  const K = load();
  let result: { root: SyntaxNode; diagnostics: KustoDiagnostic[] };
  if (K.KustoCode.GetKind(query) === K.Editor.CodeKinds.Query) {
    parseOptions ??= K.ParseOptions.Default.WithAlwaysProduceEndTokens(true);
    result = parseTokens(K.Parsing.TokenParser.ParseTokens(query, parseOptions), 0);
  } else {
    const code = K.KustoCode.Parse(query);
    result = { root: convert(code.Syntax, names(K), 0), diagnostics: toDiagnostics(code.GetDiagnostics(), 0) };
  }
  lastParse = { query, result };
  return result;
}

let lastParse: { query: string; result: { root: SyntaxNode; diagnostics: KustoDiagnostic[] } } | undefined;

/** The query parser over tokens (ending with an end-of-text token) whose text starts at `base` in the query. */
function parseTokens(tokens: Bridged[], base: number): { root: SyntaxNode; diagnostics: KustoDiagnostic[] } {
  const K = load();
  const syntax = K.Parsing.QueryParser.ParseQuery(tokens, 0, parseOptions);
  // Collecting diagnostics walks the whole tree; the tree knows whether it has any.
  const diagnostics = syntax.ContainsSyntaxDiagnostics ? toDiagnostics(syntax.GetContainedDiagnostics(), base) : [];
  return { root: convert(syntax, names(K), base), diagnostics };
}

/**
 * One top-level statement of a query (or, for a control command, the whole command's statements),
 * its positions and diagnostics in the whole query.
 */
export interface KqlStatement {
  statements: SyntaxNode[];
  diagnostics: KustoDiagnostic[];
  /** Parsed only up to the end of the pipe operator `cutAt` chose (see KqlStatements.statement). */
  cut: boolean;
}

const OPEN = ['OpenParenToken', 'OpenBracketToken', 'OpenBraceToken'];
const CLOSE = ['CloseParenToken', 'CloseBracketToken', 'CloseBraceToken'];

/**
 * A query read one top-level statement at a time, each statement parsed when first asked for: a
 * reader that stops at a refused statement does not pay for parsing the rest. The text is split
 * with Kusto.Language's own tokens (a `;` outside brackets, braces and parentheses ends a
 * statement), and each statement's tokens are given to the library's query parser alone; the
 * tokens are the same objects, so a statement's tree, texts and comments are those of the whole
 * query's parse, and its offsets are moved to the whole query's.
 */
export class KqlStatements {
  private readonly K: Bridged;
  /**
   * The library's lexer, read a token at a time: the text past the last statement read is not
   * tokenized. TokenParser.Parse (private in the C# source) is what TokenParser.ParseTokens calls
   * for each token; test/kusto/validate.test.ts compares the trees with the whole text's parse.
   */
  private readonly lexer: Bridged;
  private readonly tokens: Bridged[] = [];
  /** Kind name and start (of its trivia) of each token read so far. */
  private readonly kinds: string[] = [];
  private readonly starts: number[] = [];
  private next = 0;
  private ended = false;
  /** Token index where each statement found so far starts. */
  private readonly bounds: number[] = [0];
  private readonly parsed = new Map<string, KqlStatement>();
  private readonly command?: KqlStatement;

  constructor(readonly query: string) {
    const K = (this.K = load());
    names(K);
    parseOptions ??= K.ParseOptions.Default.WithAlwaysProduceEndTokens(true);
    this.lexer = new K.Parsing.TokenParser.ctor();
    if (K.KustoCode.GetKind(query) !== K.Editor.CodeKinds.Query) {
      const { root, diagnostics } = parseKql(query);
      this.command = { statements: statementsOf(root), diagnostics, cut: false };
    }
  }

  /**
   * The i-th top-level statement (0-based), undefined past the last one. `cutAt` is asked the text
   * of each operator that follows a top-level `|` of the statement, in order; at the first it
   * accepts, the statement is parsed only up to the end of that operator (the next top-level `|`,
   * or the statement's end), unless that part alone has a syntax error: then it is parsed whole.
   */
  statement(i: number, cutAt?: (operator: string) => boolean): KqlStatement | undefined {
    if (this.command) return i === 0 ? this.command : undefined;
    const from = this.startOf(i);
    if (from === undefined) return undefined;
    const cut = cutAt ? this.cutEnd(from, cutAt) : undefined;
    if (cut !== undefined) {
      const s = this.parse(from, cut);
      if (s.diagnostics.length === 0) return { ...s, cut: true };
    }
    if (this.bounds.length === i + 1) this.bounds.push(this.statementEnd(from));
    return this.parse(from, this.bounds[i + 1]!);
  }

  /**
   * The name and place of the i-th statement when its first tokens make it a `let` of a table, as
   * the library's parser reads them (ParseLetStatement): `let name = materialize` (a materialize
   * expression), `let name = other` then `|` (a pipe from a name), `;` or the end (a name). Nothing
   * is parsed.
   */
  tabularLet(i: number): { name: string; start: number } | undefined {
    const from = this.command ? undefined : this.startOf(i);
    if (from === undefined) return undefined;
    const is = (j: number, kind: string): boolean => this.kind(j) === kind;
    if (!(is(from, 'LetKeyword') && is(from + 1, 'IdentifierToken') && is(from + 2, 'EqualToken'))) return undefined;
    const tabular = is(from + 3, 'MaterializeKeyword') || (is(from + 3, 'IdentifierToken') && (is(from + 4, 'BarToken') || is(from + 4, 'SemicolonToken') || is(from + 4, 'EndOfTextToken')));
    return tabular ? { name: String(this.tokens[from + 1].Text), start: this.starts[from]! + this.tokens[from].Trivia.length } : undefined;
  }

  /** The text of the i-th statement's first token (undefined past the last statement); nothing is parsed. */
  firstToken(i: number): string | undefined {
    const from = this.command ? undefined : this.startOf(i);
    return from === undefined ? undefined : String(this.tokens[from].Text);
  }

  /**
   * The tokens of the i-th statement before its first top-level `|` (its pipe's source, when it is
   * a query), and whether it is the last statement; nothing is parsed. undefined past the last.
   */
  head(i: number): { tokens: SyntaxNode[]; last: boolean } | undefined {
    const from = this.command ? undefined : this.startOf(i);
    if (from === undefined) return undefined;
    const tokens: SyntaxNode[] = [];
    let depth = 0;
    let j = from;
    for (; ; j++) {
      const k = this.kind(j);
      if (k === undefined || k === 'EndOfTextToken') break;
      if (OPEN.includes(k)) depth++;
      else if (CLOSE.includes(k)) depth = Math.max(0, depth - 1);
      else if (depth === 0 && (k === 'BarToken' || k === 'SemicolonToken')) break;
      const t = this.tokens[j];
      const start = this.starts[j]! + t.Trivia.length;
      tokens.push({ kind: k, text: String(t.Text), trivia: String(t.Trivia), valueText: String(t.Text), start, children: [] });
    }
    if (this.bounds.length === i + 1) this.bounds.push(this.statementEnd(from));
    return { tokens, last: this.atEnd(this.bounds[i + 1]!) };
  }

  /**
   * True when the i-th statement is a function declaration, decided from its first tokens as the
   * library's parser decides it (QueryParser.ParseLetStatement, ScanFunctionDeclarationStart):
   * `let name = [view] (` then `)`, `*` or `name :`. Nothing is parsed.
   */
  isFunctionDeclaration(i: number): boolean {
    const from = this.command ? undefined : this.startOf(i);
    if (from === undefined) return false;
    const is = (j: number, kind: string): boolean => this.kind(j) === kind;
    if (!(is(from, 'LetKeyword') && is(from + 1, 'IdentifierToken') && is(from + 2, 'EqualToken'))) return false;
    const open = is(from + 3, 'ViewKeyword') ? from + 4 : from + 3;
    if (!is(open, 'OpenParenToken')) return false;
    return is(open + 1, 'CloseParenToken') || is(open + 1, 'AsteriskToken') || (is(open + 1, 'IdentifierToken') && is(open + 2, 'ColonToken'));
  }

  /** The token index where the i-th statement starts, undefined past the last statement. */
  private startOf(i: number): number | undefined {
    while (this.bounds.length <= i) {
      const last = this.bounds[this.bounds.length - 1]!;
      if (this.atEnd(last)) return undefined;
      this.bounds.push(this.statementEnd(last));
    }
    return this.atEnd(this.bounds[i]!) ? undefined : this.bounds[i];
  }

  /** The kind of token j, read from the text when first asked for; undefined past the end-of-text token. */
  private kind(j: number): string | undefined {
    while (this.kinds.length <= j && !this.ended) {
      // What TokenParser.ParseTokens does, a token at a time.
      const t = this.lexer.Parse(this.query, this.next, parseOptions);
      if (!t) {
        this.ended = true;
        break;
      }
      this.tokens.push(t);
      this.kinds.push(kindNames!.get(t.Kind) ?? '');
      this.starts.push(this.next);
      this.next += t.Length;
      if (t.Kind === this.K.Syntax.SyntaxKind.EndOfTextToken) this.ended = true;
    }
    return this.kinds[j];
  }

  private atEnd(j: number): boolean {
    const k = this.kind(j);
    return k === undefined || k === 'EndOfTextToken';
  }

  /** The token index after the statement that starts at `from`: after its `;`, or the end of text. */
  private statementEnd(from: number): number {
    let depth = 0;
    for (let j = from; ; j++) {
      const k = this.kind(j);
      if (k === undefined) return j;
      if (OPEN.includes(k)) depth++;
      else if (CLOSE.includes(k)) depth = Math.max(0, depth - 1);
      else if (depth === 0 && k === 'SemicolonToken') return j + 1;
    }
  }

  /** The token index where the first operator `cutAt` accepts ends, if the statement at `from` has one. */
  private cutEnd(from: number, cutAt: (operator: string) => boolean): number | undefined {
    let depth = 0;
    let found = false;
    for (let j = from; ; j++) {
      const k = this.kind(j);
      if (k === undefined) return found ? j : undefined;
      if (OPEN.includes(k)) depth++;
      else if (CLOSE.includes(k)) depth = Math.max(0, depth - 1);
      else if (depth === 0 && (k === 'SemicolonToken' || k === 'EndOfTextToken')) return found ? j : undefined;
      else if (depth === 0 && k === 'BarToken') {
        if (found) return j;
        if (this.kind(j + 1) !== undefined && cutAt(String(this.tokens[j + 1].Text))) found = true;
      }
    }
  }

  private parse(from: number, to: number): KqlStatement {
    const key = `${from}:${to}`;
    let s = this.parsed.get(key);
    if (!s) {
      const tokens = this.tokens.slice(from, to);
      if (this.kinds[to - 1] !== 'EndOfTextToken') tokens.push(new this.K.Parsing.LexicalToken.$ctor1(this.K.Syntax.SyntaxKind.EndOfTextToken, '', ''));
      const { root, diagnostics } = parseTokens(tokens, this.starts[from]!);
      s = { statements: statementsOf(root), diagnostics, cut: false };
      this.parsed.set(key, s);
    }
    return s;
  }
}

/** The statements of a parsed query block or command block. */
function statementsOf(root: SyntaxNode): SyntaxNode[] {
  const list = root.children.find((c) => c.kind === 'List' && c.children.some((x) => x.kind === 'SeparatedElement'));
  if (!list) return [];
  return list.children.filter((c) => c.kind === 'SeparatedElement').map((se) => se.children.find((c) => c.text === undefined) ?? se.children[0]!);
}

let lastStatements: KqlStatements | undefined;

/**
 * The statements of a query, read lazily. The importer reads a bare query once per platform it
 * tries and once more to lift it: the same text, read once (its parsed statements are read-only).
 */
export function kqlStatements(query: string): KqlStatements {
  if (lastStatements?.query !== query) lastStatements = new KqlStatements(query);
  return lastStatements;
}

/** A library syntax element as a SyntaxNode whose offsets are moved by `base`. */
function convert(e: Bridged, names: Map<number, string>, base: number): SyntaxNode {
  // Every property but a token's text is read from the library when first asked for: a node's start
  // walks up to the root and down to its first token, and a reader asks it of few nodes.
  const kind = names.get(e.Kind) ?? String(e.Kind);
  let start: number | undefined;
  if (e.IsToken) {
    let valueText: string | undefined;
    let trivia: string | undefined;
    return {
      kind,
      text: String(e.Text ?? ''),
      get valueText(): string {
        return (valueText ??= String(e.ValueText ?? ''));
      },
      get start(): number {
        return (start ??= Number(e.TextStart) + base);
      },
      get trivia(): string {
        return (trivia ??= String(e.Trivia ?? ''));
      },
      children: [],
    };
  }
  let children: SyntaxNode[] | undefined;
  return {
    kind,
    get start(): number {
      return (start ??= Number(e.TextStart) + base);
    },
    get children(): SyntaxNode[] {
      if (!children) {
        children = [];
        for (let i = 0; i < e.ChildCount; i++) {
          const c = e.GetChild(i);
          if (c) children.push(convert(c, names, base));
        }
      }
      return children;
    },
  };
}
