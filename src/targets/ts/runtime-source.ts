/**
 * The match runtime of generated modules is rulec's own code, not a copy: the evaluator's event view
 * and event shapes (src/eval/event.ts, src/eval/shape.ts), the primitives of src/runtime/, the loops of ./helpers.ts and
 * the streaming correlation engine (src/correlate/engine.ts), read from their
 * TypeScript source with ts-morph and inlined declaration by declaration (what a module uses, and
 * what that uses in turn). A change to the evaluator's primitives changes the generated code with it.
 *
 * The analysis (ts-morph and the TypeScript checker: about 1 s, most of a cold build's ts-specific
 * cost) is kept as data in runtime-index.json, stamped with a fingerprint of the sources it was
 * made from; a build reads the sources, and uses the index only when their fingerprint is the
 * index's, else analyzes them itself. `npm run ts:runtime` (and `npm run golden:ts`) writes it again.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type * as TsMorph from 'ts-morph';
import type { Node, Statement } from 'ts-morph';
import { codeMemo } from '../../collection/cache.js';

let tsMorph: typeof TsMorph | undefined;
/**
 * ts-morph, loaded on first use: it takes about a second to load, which a build whose results all
 * come from the rule cache (or that never reaches this target's generator) need not pay.
 */
export function morph(): typeof TsMorph {
  return (tsMorph ??= createRequire(import.meta.url)('ts-morph') as typeof TsMorph);
}

/** The package root, from src/targets/ts/ and dist/targets/ts/ alike. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const HELPERS = 'src/targets/ts/helpers.ts';

/** Where the analysis is kept, relative to the package root. */
export const INDEX_PATH = 'src/targets/ts/runtime-index.json';

/** Changed when the analysis changes, so that an index made by an older one is not used. */
const ANALYSIS_VERSION = 1;

/** The event view the evaluator matches through and the event shapes it reads, every runtime primitive file, the loops matchers call. */
function sourceFiles(): string[] {
  const runtime = readdirSync(ROOT + 'src/runtime')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => `src/runtime/${f}`);
  return ['src/eval/event.ts', 'src/eval/shape.ts', ...runtime, HELPERS, 'src/correlate/engine.ts'];
}


/** The runtime's source files (paths relative to the package root) and what they hold. */
export interface Sources {
  files: string[];
  fingerprint: string;
}

/** The runtime's source files as they are now, and their fingerprint. */
export function readSources(): Sources {
  let files: string[];
  const h = createHash('sha256').update(`rulec ts runtime analysis ${ANALYSIS_VERSION}\n`);
  try {
    files = sourceFiles();
    for (const f of files) {
      const text = readFileSync(ROOT + f, 'utf8');
      h.update(`${f} ${text.length}\n`).update(text);
    }
  } catch {
    throw new Error(`the ts target inlines rulec's runtime from its TypeScript source, which is missing under ${ROOT}src (${sourceFilesHint})`);
  }
  return { files, fingerprint: h.digest('hex') };
}

const sourceFilesHint = 'src/eval/event.ts, src/eval/shape.ts, src/runtime/*.ts, src/targets/ts/helpers.ts, src/correlate/engine.ts';

interface Declaration {
  names: string[];
  /** Path relative to the package root. */
  file: string;
  /** Source text without the `export` keyword, with its doc comment. */
  text: string;
  deps: Set<Declaration>;
}

/** The analysis as data: declarations in emission order, each naming those it uses by position. */
export interface RuntimeIndex {
  fingerprint: string;
  declarations: { names: string[]; file: string; text: string; deps: number[] }[];
}

function toIndex(fingerprint: string, ordered: readonly Declaration[]): RuntimeIndex {
  const at = new Map(ordered.map((d, i) => [d, i]));
  return { fingerprint, declarations: ordered.map((d) => ({ names: d.names, file: d.file, text: d.text, deps: [...d.deps].map((x) => at.get(x)!) })) };
}

function fromIndex(index: RuntimeIndex): Declaration[] {
  const ordered: Declaration[] = index.declarations.map((d) => ({ names: d.names, file: d.file, text: d.text, deps: new Set() }));
  index.declarations.forEach((d, i) => d.deps.forEach((j) => ordered[i]!.deps.add(ordered[j]!)));
  return ordered;
}

/** The kept index, or undefined when it is missing or unreadable (then the sources are analyzed). */
function readIndex(): RuntimeIndex | undefined {
  try {
    const index = JSON.parse(readFileSync(ROOT + INDEX_PATH, 'utf8')) as RuntimeIndex;
    return typeof index.fingerprint === 'string' && Array.isArray(index.declarations) ? index : undefined;
  } catch {
    return undefined;
  }
}

/** The runtime's declarations analyzed from its source now (ts-morph and the checker), as data. */
export function analyzeRuntime(): RuntimeIndex {
  const sources = readSources();
  return toIndex(sources.fingerprint, analyze(sources.files));
}

export class RuntimeSource {
  private readonly byName = new Map<string, Declaration>();
  /** Declarations in file order, then source order: the order they are emitted in. */
  private readonly ordered: Declaration[];

  private constructor(ordered: Declaration[]) {
    for (const d of ordered) for (const n of d.names) this.byName.set(n, d);
    this.ordered = ordered;
  }

  private static instance: RuntimeSource | undefined;

  /**
   * The kept index when it was made from these sources; else the analysis, which the rule cache
   * keeps too (codeMemo), so that a checkout whose runtime changed pays it once per cache.
   */
  static get(): RuntimeSource {
    return (RuntimeSource.instance ??= RuntimeSource.of(readSources(), readIndex()));
  }

  /** The runtime of `sources`, from `index` when that was made from them. */
  static of(sources: Sources, index: RuntimeIndex | undefined): RuntimeSource {
    if (index?.fingerprint === sources.fingerprint) return new RuntimeSource(fromIndex(index));
    return new RuntimeSource(codeMemo(`ts-runtime-source ${sources.fingerprint}`, () => analyze(sources.files)));
  }

  /** Every top-level name of the runtime: generated constants must not shadow them. */
  names(): ReadonlySet<string> {
    return new Set(this.byName.keys());
  }

  /** Texts by their sorted roots: a corpus's thousands of modules use a few dozen sets of runtime names. */
  private readonly texts = new Map<string, string>();

  /** The source of `roots` and everything they use, grouped by file under a comment naming it. */
  text(roots: Iterable<string>): string {
    const key = [...roots].sort().join(' ');
    let text = this.texts.get(key);
    if (text === undefined) this.texts.set(key, (text = this.build(roots)));
    return text;
  }

  private build(roots: Iterable<string>): string {
    const need = new Set<Declaration>();
    const visit = (d: Declaration): void => {
      if (need.has(d)) return;
      need.add(d);
      d.deps.forEach(visit);
    };
    for (const r of roots) {
      const d = this.byName.get(r);
      if (!d) throw new Error(`the runtime has no declaration '${r}'`);
      visit(d);
    }
    const parts: string[] = [];
    let file = '';
    for (const d of this.ordered) {
      if (!need.has(d)) continue;
      if (d.file !== file) {
        file = d.file;
        parts.push(`// ${file}`);
      }
      parts.push(d.text);
    }
    return parts.join('\n\n') + '\n';
  }
}

/** The declarations of `files`, with what each uses (the checker resolves every identifier). */
function analyze(files: string[]): Declaration[] {
  const byName = new Map<string, Declaration>();
  const ordered: Declaration[] = [];
  // No lib beyond ES2022: the generated code must not lean on Node or DOM globals.
  const project = new (morph().Project)({ skipAddingFilesFromTsConfig: true, compilerOptions: { strict: true, lib: ['lib.es2022.d.ts'], types: [] } });
  const sources = files.map((f) => project.addSourceFileAtPath(ROOT + f));
  const ownerOf = new Map<Statement, Declaration>();
  sources.forEach((sf, i) => {
    for (const st of sf.getStatements()) {
      const names = declaredNames(st);
      if (names.length === 0) continue;
      const decl: Declaration = { names, file: files[i]!, text: withoutExport(st), deps: new Set() };
      for (const n of names) {
        const twin = byName.get(n);
        if (twin) throw new Error(`the ts target cannot inline the runtime: '${n}' is declared in both ${twin.file} and ${decl.file}`);
        byName.set(n, decl);
      }
      ownerOf.set(st, decl);
      ordered.push(decl);
    }
  });
  const ourFiles = new Set(sources.map((s) => s.getFilePath()));
  for (const [st, decl] of ownerOf) {
    for (const id of st.getDescendants().filter(morph().Node.isIdentifier)) {
      let sym = id.getSymbol();
      if (sym?.isAlias()) sym = sym.getAliasedSymbol();
      for (const d of sym?.getDeclarations() ?? []) {
        const path = d.getSourceFile().getFilePath();
        if (!ourFiles.has(path)) {
          if (path.startsWith(ROOT + 'src/')) {
            throw new Error(
              `the ts target cannot inline ${decl.file}: '${id.getText()}' comes from ${path.slice(ROOT.length)}; generated modules may only use ${files.join(', ')}`,
            );
          }
          continue; // the standard library
        }
        const owner = ownerOf.get(topLevel(d));
        if (owner && owner !== decl) decl.deps.add(owner);
      }
    }
  }
  return ordered;
}

function declaredNames(st: Statement): string[] {
  if (morph().Node.isVariableStatement(st)) return st.getDeclarations().map((d) => d.getName());
  if (
    morph().Node.isFunctionDeclaration(st) ||
    morph().Node.isClassDeclaration(st) ||
    morph().Node.isInterfaceDeclaration(st) ||
    morph().Node.isTypeAliasDeclaration(st) ||
    morph().Node.isEnumDeclaration(st)
  ) {
    const n = st.getName();
    return n ? [n] : [];
  }
  return [];
}

function topLevel(n: Node): Statement {
  let cur: Node = n;
  for (let p = cur.getParent(); p && !morph().Node.isSourceFile(p); p = cur.getParent()) cur = p;
  return cur as Statement;
}

/** The statement's text with its doc comment, minus `export` (inlined code is module-private). */
function withoutExport(st: Statement): string {
  const start = st.getStart(true);
  const text = st.getText(true);
  const kw = morph().Node.isModifierable(st) ? st.getModifiers().find((m) => m.getText() === 'export') : undefined;
  if (!kw) return text;
  const from = kw.getStart() - start;
  return text.slice(0, from) + text.slice(from + 'export'.length).replace(/^\s+/, '');
}
