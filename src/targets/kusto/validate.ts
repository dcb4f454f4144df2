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

function toDiagnostics(list: Bridged): KustoDiagnostic[] {
  const Bridge = (globalThis as Bridged).Bridge;
  return (Bridge.toArray(list) as Bridged[]).map((d) => ({
    code: String(d.Code),
    severity: String(d.Severity),
    message: String(d.Message),
    start: Number(d.Start),
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

/**
 * Parses (syntax only) and returns the tree and the syntax diagnostics. A query is parsed the way
 * KustoCode.Parse does (tokens, then the query parser, end tokens kept), without building the
 * query grammar KustoCode.Parse also makes (over a second of CPU the first time, and the default
 * parser does not use it); a control command goes through KustoCode.Parse. The tree's children
 * are converted when first read: a reader that stops early (the importer refusing a `join`) does
 * not pay for the rest.
 */
export function parseKql(query: string): { root: SyntaxNode; diagnostics: KustoDiagnostic[] } {
  // The importer reads a bare query once per platform it tries and once more to lift it: the same
  // text, parsed once. The tree is read-only (its lazy children are filled in once either way).
  if (lastParse?.query === query) return lastParse.result;
  const result = parse(query);
  lastParse = { query, result };
  return result;
}

let lastParse: { query: string; result: { root: SyntaxNode; diagnostics: KustoDiagnostic[] } } | undefined;

function parse(query: string): { root: SyntaxNode; diagnostics: KustoDiagnostic[] } {
  const K = load();
  if (!kindNames) {
    kindNames = new Map();
    const SK = K.Syntax.SyntaxKind;
    for (const k of Object.keys(SK)) if (typeof SK[k] === 'number') kindNames.set(SK[k], k);
  }
  let syntax: Bridged;
  let diagnostics: Bridged;
  if (K.KustoCode.GetKind(query) === K.Editor.CodeKinds.Query) {
    parseOptions ??= K.ParseOptions.Default.WithAlwaysProduceEndTokens(true);
    syntax = K.Parsing.QueryParser.ParseQuery(K.Parsing.TokenParser.ParseTokens(query, parseOptions), 0, parseOptions);
    // Collecting diagnostics walks the whole tree; the tree knows whether it has any.
    diagnostics = syntax.ContainsSyntaxDiagnostics ? syntax.GetContainedDiagnostics() : undefined;
  } else {
    const code = K.KustoCode.Parse(query);
    syntax = code.Syntax;
    diagnostics = code.GetDiagnostics();
  }
  const names = kindNames;
  // Every property but a token's text is read from the library when first asked for: a node's start
  // walks up to the root and down to its first token, and a reader asks it of few nodes.
  const convert = (e: Bridged): SyntaxNode => {
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
          return (start ??= Number(e.TextStart));
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
        return (start ??= Number(e.TextStart));
      },
      get children(): SyntaxNode[] {
        if (!children) {
          children = [];
          for (let i = 0; i < e.ChildCount; i++) {
            const c = e.GetChild(i);
            if (c) children.push(convert(c));
          }
        }
        return children;
      },
    };
  };
  return { root: convert(syntax), diagnostics: diagnostics ? toDiagnostics(diagnostics) : [] };
}
