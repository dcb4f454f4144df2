/**
 * Type-checks generated modules the way a user's strict project would: all of them in one program
 * (one program for thousands of modules is much faster than one per module), with `strict` and the
 * stricter flags projects commonly add, ES2022 and no other library (no Node, no DOM types): a module
 * that needed more would not drop into any pipeline.
 */
import { Project, ts } from 'ts-morph';

export interface TypeCheckError {
  line: number;
  column: number;
  message: string;
}

export function typeCheckOptions(lib: typeof ts = ts): ts.CompilerOptions {
  return {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitReturns: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    isolatedModules: true,
    target: lib.ScriptTarget.ES2022,
    module: lib.ModuleKind.ES2022,
    moduleResolution: lib.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noEmit: true,
    skipLibCheck: true,
  };
}

const libFiles = new WeakMap<object, Map<string, ts.SourceFile>>();

/**
 * The type errors of each module (keyed as given; modules without errors are absent). Checked with
 * ts-morph's TypeScript, or with `lib`, another compatible version (tests use the project's tsc).
 */
export function typeCheck(modules: ReadonlyMap<string, string>, lib?: typeof ts): Map<string, TypeCheckError[]> {
  const byFile = new Map<string, string>();
  const keyOf = new Map<string, string>();
  let i = 0;
  for (const [key, text] of modules) {
    const file = `/rulec-generated/m${i++}.ts`;
    byFile.set(file, text);
    keyOf.set(file, key);
  }
  const tsLib = lib ?? ts;
  const program = lib ? programOnDisk(lib, byFile) : programInMemory(byFile);
  const out = new Map<string, TypeCheckError[]>();
  const diags = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  for (const d of diags) {
    const file = d.file?.fileName;
    const key = file !== undefined ? keyOf.get(file) : undefined;
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    const err = { line: pos.line + 1, column: pos.character + 1, message: `TS${d.code}: ${tsLib.flattenDiagnosticMessageText(d.messageText, ' ')}` };
    // A problem outside every module (options, libraries) concerns them all.
    for (const k of key !== undefined ? [key] : modules.keys()) {
      const list = out.get(k);
      if (list) list.push(err);
      else out.set(k, [err]);
    }
  }
  return out;
}

/** ts-morph's in-memory file system, which carries the standard library files of its TypeScript. */
function programInMemory(byFile: Map<string, string>): ts.Program {
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: typeCheckOptions() });
  for (const [file, text] of byFile) project.createSourceFile(file, text);
  return project.getProgram().compilerObject;
}

/** A TypeScript installation's own library files, parsed once per installation. */
function programOnDisk(lib: typeof ts, byFile: Map<string, string>): ts.Program {
  const options = typeCheckOptions(lib);
  const host = lib.createCompilerHost(options);
  let cache = libFiles.get(lib);
  if (!cache) libFiles.set(lib, (cache = new Map()));
  const libCache = cache;
  const getDefault = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError) => {
    const text = byFile.get(fileName);
    if (text !== undefined) return lib.createSourceFile(fileName, text, languageVersion, true);
    let sf = libCache.get(fileName);
    if (!sf) {
      sf = getDefault(fileName, languageVersion, onError);
      if (sf) libCache.set(fileName, sf);
    }
    return sf;
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => byFile.has(f) || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => byFile.get(f) ?? readFile(f);
  return lib.createProgram([...byFile.keys()], options, host);
}
