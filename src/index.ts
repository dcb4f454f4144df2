/** Public library API: parse -> model -> IR, and the collection loader. */
export * from './diag/diagnostic.js';
export type * from './model/types.js';
export type * from './ir/types.js';
export { parseRuleText } from './parse/rule.js';
export { parseSigmaString } from './parse/sigma-string.js';
export { parseCondition } from './parse/condition.js';
export { lowerRule } from './lower/lower.js';
export { loadCollection, loadText, findRuleFiles, type LoadedRule, type Collection } from './collection/load.js';
export { Engine, flattenEvent, readEvents, matchEvent, compileNode, EventView } from './eval/index.js';
