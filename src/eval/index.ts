/** The native evaluator: compile a rule's IR once, then match events. */
import type { Node } from '../ir/types.js';
import { compileNode, type Matcher } from './compile.js';
import { EventView, type JsonObject } from './event.js';

export { EventView, compileNode, type Matcher, type JsonObject };

/** Match one plain JSON event against an IR (convenience for tests and single checks). */
export function matchEvent(ir: Node, event: JsonObject): boolean {
  return compileNode(ir)(new EventView(event));
}

export { Engine, type CompiledRule, type DetectionSink, type EngineOptions, type IrRule, type RuleProblem } from './engine.js';
export { flattenEvent, shapeOf, type ShapeName } from './shape.js';
export { readEvents, DEFAULT_LIMITS, type ReadItem, type ReadLimits } from './reader.js';
