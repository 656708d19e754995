import { type Mapping, recover } from "./gumtree.js";
import { functionName, isFunction } from "./loop-context.js";
import type { SyntaxTree, TreeNode } from "./syntax-tree.js";

/**
 * Matches functions that GumTree left unmatched by their names: a function or method whose name is
 * unique in both versions is the same function, however much its body changed (a body made mostly
 * of new statements shares too little with the old one to be matched by its contents). Their
 * children are then aligned as GumTree aligns those of matched nodes.
 */
export function matchNamedFunctions(newTree: SyntaxTree, oldTree: SyntaxTree, mapping: Mapping): void {
  const byName = (tree: SyntaxTree): Map<string, TreeNode[]> => {
    const found = new Map<string, TreeNode[]>();
    for (const node of tree.nodes) {
      if (!isFunction(node.ast)) continue;
      const name = functionName(node);
      if (name === null) continue;
      const key = `${name.method ? "." : ""}${name.name}`;
      found.set(key, [...(found.get(key) ?? []), node]);
    }
    return found;
  };
  const olds = byName(oldTree);
  for (const [key, news] of byName(newTree)) {
    const candidates = olds.get(key);
    if (news.length !== 1 || candidates?.length !== 1) continue;
    const [fn] = news as [TreeNode];
    const [old] = candidates as [TreeNode];
    if (fn.label !== old.label) continue;
    const image = mapping.srcToDst.get(fn);
    if (image === old) {
      recover(fn, old, mapping);
      continue;
    }
    // Matched by contents to a function of another name: the name wins, and what was matched
    // between the two functions' bodies goes, on both sides.
    if (image !== undefined) unmapBetween(fn, image, newTree, mapping);
    const partner = mapping.dstToSrc.get(old);
    if (partner !== undefined) unmapBetween(partner, old, newTree, mapping);
    mapping.add(fn, old);
    recover(fn, old, mapping);
  }
}

/** Removes the matches of `fn`'s subtree into `image`'s subtree (both included). */
function unmapBetween(fn: TreeNode, image: TreeNode, newTree: SyntaxTree, mapping: Mapping): void {
  for (const node of newTree.nodes.slice(fn.id, fn.end)) {
    const dst = mapping.srcToDst.get(node);
    if (dst !== undefined && dst.id >= image.id && dst.id < image.end) mapping.remove(node);
  }
}
