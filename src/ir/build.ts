/**
 * Smart constructors that keep the tree normalized: nested and/or flattened, constants folded,
 * double negation removed, single-child groups collapsed. Every IR producer goes through these so
 * backends never see a degenerate shape.
 */
import type { Node, OrNode, ParamOrigin } from './types.js';

export const TRUE: Node = { kind: 'const', value: true };
export const FALSE: Node = { kind: 'const', value: false };

export function and(children: Node[]): Node {
  const out: Node[] = [];
  for (const c of children) {
    if (c.kind === 'const') {
      if (!c.value) return FALSE;
      continue;
    }
    if (c.kind === 'and') out.push(...c.children);
    else out.push(c);
  }
  if (out.length === 0) return TRUE;
  if (out.length === 1) return out[0]!;
  return { kind: 'and', children: out };
}

export function or(children: Node[], param?: ParamOrigin): Node {
  const out: Node[] = [];
  for (const c of children) {
    if (c.kind === 'const') {
      if (c.value) return TRUE;
      continue;
    }
    // A parameter group stays a group so backends can render it as a named list.
    if (c.kind === 'or' && c.param === undefined) out.push(...c.children);
    else out.push(c);
  }
  if (out.length === 0) return FALSE;
  if (out.length === 1 && param === undefined) return out[0]!;
  const node: OrNode = { kind: 'or', children: out };
  if (param !== undefined) node.param = param;
  return node;
}

export function not(child: Node): Node {
  if (child.kind === 'const') return child.value ? FALSE : TRUE;
  if (child.kind === 'not') return child.child;
  return { kind: 'not', child };
}
