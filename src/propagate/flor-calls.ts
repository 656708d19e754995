import type { Node } from "@babel/types";

/** The log name of a `flor.log("name", value)` call, or null for anything else. */
export function florLogName(node: Node | null | undefined): string | null {
  if (node?.type !== "CallExpression") return null;
  const callee = node.callee;
  if (callee.type !== "MemberExpression" || callee.computed || callee.object.type !== "Identifier" || callee.object.name !== "flor")
    return null;
  if (callee.property.type !== "Identifier" || callee.property.name !== "log") return null;
  const first = node.arguments[0];
  return first?.type === "StringLiteral" ? first.value : null;
}

/** The log name of a statement `flor.log("name", value);`, or null. */
export function logStatementName(node: Node): string | null {
  return node.type === "ExpressionStatement" ? florLogName(node.expression) : null;
}

/** The loop name when `node` is `for (... of flor.loop("name", ...))` (sync or await), else null. */
export function florLoopName(node: Node): string | null {
  if (node.type !== "ForOfStatement") return null;
  const right = node.right;
  if (right.type !== "CallExpression" || right.callee.type !== "MemberExpression") return null;
  const { object, property } = right.callee;
  if (object.type !== "Identifier" || object.name !== "flor" || property.type !== "Identifier" || property.name !== "loop") return null;
  const first = right.arguments[0];
  return first?.type === "StringLiteral" ? first.value : null;
}
