/**
 * Runs generated modules the way a user's build would: TypeScript's transpileModule (types erased,
 * nothing checked), then the JavaScript evaluated as a CommonJS module, all in memory.
 */
import ts from 'typescript';
import { RUNTIME_BANNER } from '../../src/targets/ts/generator.js';

export interface RuleModule {
  rule: { id?: string; title: string; level?: string; tags: readonly string[]; logsource: Record<string, string> };
  match(event: object): boolean;
}

export interface BundleModule {
  rules: (RuleModule['rule'] & { match(event: object): boolean })[];
  detect(event: object): { id?: string; title: string }[];
}

const OPTIONS: ts.TranspileOptions = { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } };
const transpile = (source: string): string => ts.transpileModule(source, OPTIONS).outputText;
const runtimes = new Map<string, string>();

/**
 * A module's exports. The module is transpiled in two pieces, the rule's code and the inlined
 * runtime after the banner, and the runtime's JavaScript is cached: modules share it word for word
 * and it is most of their text, so property tests run ten times faster. Erasing types is local to
 * each statement and the runtime part declares no import or export, so the pieces transpile to what
 * the whole module does.
 */
export function loadModule<T = RuleModule>(source: string): T {
  const at = source.indexOf(RUNTIME_BANNER);
  if (at < 0) throw new Error('not a generated module: no runtime banner');
  const runtime = source.slice(at);
  let runtimeJs = runtimes.get(runtime);
  if (runtimeJs === undefined) runtimes.set(runtime, (runtimeJs = transpile(runtime)));
  const js = transpile(source.slice(0, at)) + '\n' + runtimeJs;
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', js)(module, module.exports);
  return module.exports as T;
}
