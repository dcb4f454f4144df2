/**
 * The match runtime of generated modules is rulec's own code, not a copy: the evaluator's event view
 * and event shapes (src/eval/event.ts, src/eval/shape.ts), the primitives of src/runtime/, the loops of ./helpers.ts and
 * the streaming correlation engine (src/correlate/engine.ts), read from their
 * TypeScript source with ts-morph and inlined declaration by declaration (what a module uses, and
 * what that uses in turn). A change to the evaluator's primitives changes the generated code with it.
 */
import { readdirSync } from 'node:fs';
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

/** The event view the evaluator matches through and the event shapes it reads, every runtime primitive file, the loops matchers call. */
function sourceFiles(): string[] {
  const runtime = readdirSync(ROOT + 'src/runtime')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => `src/runtime/${f}`);
  return ['src/eval/event.ts', 'src/eval/shape.ts', ...runtime, HELPERS, 'src/correlate/engine.ts'];
}


interface Declaration {
  names: string[];
  /** Path relative to the package root. */
  file: string;
  /** Source text without the `export` keyword, with its doc comment. */
  text: string;
  deps: Set<Declaration>;
}

export class RuntimeSource {
  private readonly byName = new Map<string, Declaration>();
  /** Declarations in file order, then source order: the order they are emitted in. */
  private readonly ordered: Declaration[] = [];

  private constructor(known?: Declaration[]) {
    if (known) {
      for (const d of known) for (const n of d.names) this.byName.set(n, d);
      this.ordered = known;
      return;
    }
    let files: string[];
    try {
      files = sourceFiles();
    } catch {
      throw new Error(`the ts target inlines rulec's runtime from its TypeScript source, which is missing under ${ROOT}src/runtime`);
    }
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
          const twin = this.byName.get(n);
          if (twin) throw new Error(`the ts target cannot inline the runtime: '${n}' is declared in both ${twin.file} and ${decl.file}`);
          this.byName.set(n, decl);
        }
        ownerOf.set(st, decl);
        this.ordered.push(decl);
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
  }

  private static instance: RuntimeSource | undefined;

  /**
   * The analysis reads only rulec's own source, so the rule cache keeps it (codeMemo): a build that
   * generates a few modules need not load ts-morph and run the TypeScript checker (1.5 s).
   */
  static get(): RuntimeSource {
    return (RuntimeSource.instance ??= new RuntimeSource(codeMemo('ts-runtime-source', () => new RuntimeSource().ordered)));
  }

  /** Every top-level name of the runtime: generated constants must not shadow them. */
  names(): ReadonlySet<string> {
    return new Set(this.byName.keys());
  }

  /** The source of `roots` and everything they use, grouped by file under a comment naming it. */
  text(roots: Iterable<string>): string {
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
