import type { Node } from "@babel/types";
import { parseSource } from "../propagate/parse-source.js";
import { florLogName, florLoopName } from "../propagate/flor-calls.js";

/**
 * Where a `flor.log` statement runs relative to the script's loops, which decides what replay must
 * execute to produce its values: inside loops (the iterations in scope), before the outermost loop
 * (its prelude), after it (its final state), or unknown (the whole script).
 */
export type StatementLevel =
  | { kind: "loop"; loops: string[] }
  | { kind: "before" | "after"; loop: string }
  | { kind: "unknown"; why: string };

type Path = Node[];

/** The level of the `flor.log("name", ...)` statement that starts at `line` of `code`. */
export function statementLevel(code: string, filename: string, line: number, name: string): StatementLevel {
  const path = findStatement(parseSource(code, filename), line, name);
  if (path === null) return { kind: "unknown", why: `no flor.log("${name}") statement at line ${line}` };
  const loops: string[] = [];
  let scope: Node | undefined;
  for (let i = path.length - 2; i >= 0; i--) {
    const node = path[i]!;
    if (isFunction(node) || node.type === "Program") {
      scope = node;
      break;
    }
    const loop = florLoopName(node);
    if (loop !== null) loops.unshift(loop);
  }
  if (loops.length > 0) return { kind: "loop", loops };
  // Outside every loop: before or after the first flor.loop of the same function (or module body).
  const statement = path[path.length - 1]!;
  const loop = scope === undefined ? null : firstLoopIn(scope);
  if (loop === null) return { kind: "unknown", why: "it is in a function without a flor.loop, so when it runs depends on who calls it" };
  if (statement.end! <= loop.node.start!) return { kind: "before", loop: loop.name };
  if (statement.start! >= loop.node.end!) return { kind: "after", loop: loop.name };
  return { kind: "unknown", why: "its position relative to the loop is unclear" };
}

function findStatement(root: Node, line: number, name: string): Path | null {
  let found: Path | null = null;
  visit(root, [], (node, path) => {
    if (found !== null) return false;
    if (node.type === "ExpressionStatement" && node.loc?.start.line === line && containsLog(node.expression, name)) {
      found = [...path, node];
      return false;
    }
    return (
      node.loc === null ||
      node.loc === undefined ||
      (node.loc.start.line <= line && node.loc.end.line >= line) ||
      node.type === "Program" ||
      node.type === "File"
    );
  });
  return found;
}

function containsLog(node: Node, name: string): boolean {
  let hit = false;
  visit(node, [], (child) => {
    if (!hit && florLogName(child) === name) hit = true;
    return !hit;
  });
  return hit;
}

/** The first `for (... of flor.loop(...))` in `scope`'s own body, not inside nested functions. */
function firstLoopIn(scope: Node): { name: string; node: Node } | null {
  let first: { name: string; node: Node } | null = null;
  visit(scope, [], (node) => {
    if (first !== null) return false;
    if (node !== scope && isFunction(node)) return false;
    const name = florLoopName(node);
    if (name !== null) {
      first = { name, node };
      return false;
    }
    return true;
  });
  return first;
}

function isFunction(node: Node): boolean {
  return (
    node.type === "FunctionDeclaration" ||
    node.type === "FunctionExpression" ||
    node.type === "ArrowFunctionExpression" ||
    node.type === "ObjectMethod" ||
    node.type === "ClassMethod" ||
    node.type === "ClassPrivateMethod"
  );
}

/** Depth-first, in source order; `enter` returns false to skip a node's children. */
function visit(node: Node, path: Path, enter: (node: Node, path: Path) => boolean): void {
  if (!enter(node, path)) return;
  const next = [...path, node];
  for (const key of Object.keys(node) as (keyof Node)[]) {
    if (key === "loc" || key === "leadingComments" || key === "trailingComments" || key === "innerComments") continue;
    const value = node[key] as unknown;
    if (Array.isArray(value)) {
      for (const child of value) if (isNode(child)) visit(child, next, enter);
    } else if (isNode(value)) visit(value, next, enter);
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}
