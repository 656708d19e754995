import type { Node } from "@babel/types";
import { florLoopName } from "./flor-calls.js";
import type { SyntaxTree, TreeNode } from "./syntax-tree.js";

/** The `flor.loop` names around a node where it is written, outermost first, up to its function. */
function ownLoops(node: TreeNode | null): { loops: string[]; fn: TreeNode | null } {
  const loops: string[] = [];
  for (let at = node; at !== null; at = at.parent) {
    if (isFunction(at.ast)) return { loops, fn: at };
    const name = florLoopName(at.ast);
    if (name !== null) loops.unshift(name);
  }
  return { loops, fn: null };
}

export function isFunction(node: Node): boolean {
  return (
    node.type === "FunctionDeclaration" ||
    node.type === "FunctionExpression" ||
    node.type === "ArrowFunctionExpression" ||
    node.type === "ObjectMethod" ||
    node.type === "ClassMethod" ||
    node.type === "ClassPrivateMethod"
  );
}

/**
 * The name a function is called by in its module: `function f() {}`, `const f = () => {}`, or a method
 * `m() {}` (called as `x.m()` or `this.m()`), or null when it has none.
 */
export function functionName(fn: TreeNode): { name: string; method: boolean } | null {
  const ast = fn.ast;
  if (ast.type === "FunctionDeclaration") return ast.id ? { name: ast.id.name, method: false } : null;
  if (
    (ast.type === "ClassMethod" || ast.type === "ObjectMethod") &&
    !ast.computed &&
    ast.key.type === "Identifier" &&
    ast.kind === "method"
  )
    return { name: ast.key.name, method: true };
  const parent = fn.parent?.ast;
  if (parent?.type === "VariableDeclarator" && parent.id.type === "Identifier" && parent.init === ast)
    return { name: parent.id.name, method: false };
  if ((parent?.type === "ClassProperty" || parent?.type === "ObjectProperty") && !parent.computed && parent.key.type === "Identifier")
    return { name: parent.key.name, method: true };
  return null;
}

/** The calls of `name` in a tree: `name(...)` or, for a method, `x.name(...)`; awaited or not. */
const calls = new WeakMap<SyntaxTree, TreeNode[]>();

export function callSites(tree: SyntaxTree, name: { name: string; method: boolean }): TreeNode[] {
  let all = calls.get(tree);
  if (all === undefined) {
    all = tree.nodes.filter((n) => n.label === "CallExpression" || n.label === "OptionalCallExpression");
    calls.set(tree, all);
  }
  return all.filter((n) => {
    const ast = n.ast;
    if (ast.type !== "CallExpression" && ast.type !== "OptionalCallExpression") return false;
    const callee = ast.callee;
    if (callee.type === "Identifier") return !name.method && callee.name === name.name;
    return (
      (callee.type === "MemberExpression" || callee.type === "OptionalMemberExpression") &&
      !callee.computed &&
      callee.property.type === "Identifier" &&
      callee.property.name === name.name
    );
  });
}

/**
 * The `flor.loop` names a node runs inside, outermost first. Code in a named function of the module
 * runs where the function is called: when every call of it in the module runs in the same loops (one
 * level of calls), those loops come first. Otherwise only the loops written around the node count.
 */
export function loopContext(tree: SyntaxTree, node: TreeNode | null): string[] {
  const own = ownLoops(node);
  if (own.fn === null) return own.loops;
  const name = functionName(own.fn);
  if (name === null) return own.loops;
  const sites = callSites(tree, name).filter((site) => !(site.id >= own.fn!.id && site.id < own.fn!.end));
  if (sites.length === 0) return own.loops;
  const contexts = new Set(sites.map((site) => ownLoops(site).loops.join("\u0000")));
  if (contexts.size !== 1) return own.loops;
  const outer = ownLoops(sites[0]!).loops;
  return [...outer, ...own.loops];
}

export function describeLoops(names: string[]): string {
  return names.length === 0 ? "no flor.loop" : names.map((n) => `flor.loop("${n}")`).join(" > ");
}
