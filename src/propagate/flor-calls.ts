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

/**
 * The statement that binds `flor` at the top of a module: `import { flor } from "flordb"` (any source,
 * any import form) or `const { flor } = require(...)` / `const flor = ...`; null when there is none.
 */
export function florBinding(program: Node): Node | null {
  if (program.type !== "Program") return null;
  for (const statement of program.body) {
    if (
      statement.type === "ImportDeclaration" &&
      statement.importKind !== "type" &&
      statement.specifiers.some((s) => s.local.name === "flor")
    )
      return statement;
    if (statement.type === "VariableDeclaration") {
      for (const d of statement.declarations) {
        if (d.id.type === "Identifier" && d.id.name === "flor") return statement;
        if (
          d.id.type === "ObjectPattern" &&
          d.id.properties.some((p) => p.type === "ObjectProperty" && p.value.type === "Identifier" && p.value.name === "flor")
        )
          return statement;
      }
    }
  }
  return null;
}
