import type { ASTNode } from '@marcbachmann/cel-js';

/** Helpers over the cel-js AST. Pure; nodes are read, never changed. */

export function isAstNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'args' in value && 'range' in value;
}

/** The dotted path a selection denotes (`player.loss_streak` -> ["player","loss_streak"]), or null. */
export function pathOf(node: ASTNode): string[] | null {
  switch (node.op) {
    case 'id':
      return [node.args];
    case '.':
    case '.?': {
      const base = pathOf(node.args[0]);
      return base ? [...base, node.args[1]] : null;
    }
    case '[]':
    case '[?]': {
      const [target, index] = node.args;
      const base = pathOf(target);
      if (!base || index.op !== 'value' || typeof index.args !== 'string') return null;
      return [...base, index.args];
    }
    default:
      return null;
  }
}

/** Every node of the tree, depth first, parents before children. */
export function* walk(node: ASTNode): Generator<ASTNode> {
  yield node;
  for (const child of children(node)) yield* walk(child);
}

export function children(node: ASTNode): ASTNode[] {
  if (node.op === 'value' || node.op === 'id') return [];
  const out: ASTNode[] = [];
  const visit = (v: unknown): void => {
    if (isAstNode(v)) out.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
  };
  visit(node.args);
  return out;
}

/**
 * The paths under `roots` the expression reads: the longest selection of each access
 * (`player.loss_streak`, `event.data.result`), sorted and unique.
 */
export function readsOf(root: ASTNode, roots: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (node: ASTNode): void => {
    if (node.op === '.' || node.op === '.?' || node.op === '[]' || node.op === '[?]' || node.op === 'id') {
      const path = pathOf(node);
      if (path && roots.includes(path[0] ?? '')) {
        found.add(path.join('.'));
        return;
      }
    }
    children(node).forEach(visit);
  };
  visit(root);
  return [...found].sort();
}

/** Canonical text of a tree, equal for equal expressions whatever their spacing. */
export function canonical(node: ASTNode): string {
  return JSON.stringify(node.toOldStructure(), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Top-level `&&` operands, canonical. */
export function conjuncts(node: ASTNode): string[] {
  if (node.op === '&&') return [...conjuncts(node.args[0]), ...conjuncts(node.args[1])];
  return [canonical(node)];
}
