import type { Node } from "@babel/types";
import type { TreeNode } from "./syntax-tree.js";

/** Names every script can use without declaring them. */
const GLOBALS = new Set([
  ...Object.getOwnPropertyNames(globalThis),
  "undefined",
  "NaN",
  "Infinity",
  "arguments",
  "this",
  "require",
  "module",
  "exports",
  "__dirname",
  "__filename",
]);

/**
 * The identifiers a statement reads from its surroundings: references that are not property names,
 * object keys, or bound by a function or catch clause inside the statement itself.
 */
export function freeIdentifiers(statement: Node): { name: string; start: number; end: number; shorthand: boolean }[] {
  const found: { name: string; start: number; end: number; shorthand: boolean }[] = [];
  const visit = (node: Node, bound: Set<string>, parent: Node | null, key: string): void => {
    if (node.type === "Identifier") {
      const p = parent as unknown as Record<string, unknown> | null;
      const isProperty =
        p !== null &&
        (((parent!.type === "MemberExpression" || parent!.type === "OptionalMemberExpression") && key === "property" && !p["computed"]) ||
          ((parent!.type === "ObjectProperty" || parent!.type === "ObjectMethod") && key === "key" && !p["computed"]));
      // `{ lr }`: renaming the value must keep the key, so the caller writes `lr: newName`.
      const shorthand = parent?.type === "ObjectProperty" && key === "value" && Boolean(p!["shorthand"]);
      if (!isProperty && !bound.has(node.name)) found.push({ name: node.name, start: node.start!, end: node.end!, shorthand });
      return;
    }
    if (node.type === "VariableDeclarator") {
      // What it declares is not read; only its initializer is.
      if (node.init) visit(node.init, bound, node, "init");
      return;
    }
    let inner = bound;
    if (node.type === "ArrowFunctionExpression" || node.type === "FunctionExpression") {
      inner = new Set(bound);
      for (const param of node.params) for (const name of patternNames(param)) inner.add(name);
    }
    for (const [childKey, field] of Object.entries(node)) {
      if (childKey === "loc" || childKey.endsWith("Comments") || childKey === "typeAnnotation" || childKey === "typeParameters") continue;
      for (const item of Array.isArray(field) ? field : [field]) {
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string")
          visit(item as Node, inner, node, childKey);
      }
    }
  };
  visit(statement, new Set(), null, "");
  return found;
}

/** The names a binding pattern (`a`, `{ a, b: [c] }`, `...rest`, `x = 1`) declares. */
export function patternNames(node: Node): string[] {
  switch (node.type) {
    case "Identifier":
      return [node.name];
    case "ObjectPattern":
      return node.properties.flatMap((p) => (p.type === "RestElement" ? patternNames(p.argument) : patternNames(p.value as Node)));
    case "ArrayPattern":
      return node.elements.flatMap((e) => (e === null ? [] : patternNames(e)));
    case "RestElement":
      return patternNames(node.argument);
    case "AssignmentPattern":
      return patternNames(node.left);
    case "TSParameterProperty":
      return patternNames(node.parameter);
    default:
      return [];
  }
}

/** The names a statement declares into the block it stands in. */
function declaredBy(statement: Node): string[] {
  switch (statement.type) {
    case "VariableDeclaration":
      return statement.declarations.flatMap((d) => patternNames(d.id));
    case "FunctionDeclaration":
    case "ClassDeclaration":
    case "TSEnumDeclaration":
      return statement.id ? [statement.id.name] : [];
    case "ImportDeclaration":
      return statement.specifiers.map((s) => s.local.name);
    case "ExportNamedDeclaration":
      return statement.declaration ? declaredBy(statement.declaration) : [];
    default:
      return [];
  }
}

/**
 * The names bound at a place in a file: before statement `index` of the statement list `container`
 * (a Program, BlockStatement or similar tree node). Walks outwards through blocks, functions, loops
 * and catch clauses; `let`/`const` count only when declared before the place, hoisted `var` and
 * functions anywhere in their block.
 */
export function namesBoundAt(container: TreeNode, index: number): Set<string> {
  const names = new Set<string>(GLOBALS);
  let position = index;
  for (let node: TreeNode | null = container; node !== null; node = node.parent) {
    const ast = node.ast as unknown as Record<string, unknown>;
    const body = Array.isArray(ast["body"])
      ? (ast["body"] as Node[])
      : node.ast.type === "SwitchCase"
        ? (ast["consequent"] as Node[])
        : null;
    if (body !== null) {
      body.forEach((statement, i) => {
        const hoisted =
          statement.type === "FunctionDeclaration" ||
          (statement.type === "VariableDeclaration" && statement.kind === "var") ||
          statement.type === "ImportDeclaration";
        if (i < position || hoisted) for (const name of declaredBy(statement)) names.add(name);
      });
    }
    switch (node.ast.type) {
      case "ForOfStatement":
      case "ForInStatement":
        if (node.ast.left.type === "VariableDeclaration") for (const name of declaredBy(node.ast.left)) names.add(name);
        break;
      case "ForStatement":
        if (node.ast.init?.type === "VariableDeclaration") for (const name of declaredBy(node.ast.init)) names.add(name);
        break;
      case "CatchClause":
        if (node.ast.param) for (const name of patternNames(node.ast.param)) names.add(name);
        break;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ObjectMethod":
      case "ClassMethod":
        for (const param of node.ast.params) for (const name of patternNames(param)) names.add(name);
        if (node.ast.type === "FunctionExpression" && node.ast.id) names.add(node.ast.id.name);
        break;
      default:
        break;
    }
    // Outer blocks: everything declared before the statement that contains this one.
    const parent = node.parent;
    if (parent !== null) {
      const parentAst = parent.ast as unknown as Record<string, unknown>;
      const list = Array.isArray(parentAst["body"])
        ? (parentAst["body"] as Node[])
        : parent.ast.type === "SwitchCase"
          ? (parentAst["consequent"] as Node[])
          : null;
      position = list === null ? position : list.indexOf(node.ast);
    }
  }
  return names;
}

/** The `this.x` member names a statement reads (non-computed), with their positions. */
export function thisMembers(statement: Node): { name: string; start: number; end: number; shorthand: boolean }[] {
  const found: { name: string; start: number; end: number; shorthand: boolean }[] = [];
  const visit = (node: Node): void => {
    if (
      (node.type === "MemberExpression" || node.type === "OptionalMemberExpression") &&
      !node.computed &&
      node.object.type === "ThisExpression" &&
      node.property.type === "Identifier"
    ) {
      found.push({ name: node.property.name, start: node.property.start!, end: node.property.end!, shorthand: false });
    }
    for (const [key, field] of Object.entries(node)) {
      if (key === "loc" || key.endsWith("Comments")) continue;
      for (const item of Array.isArray(field) ? field : [field]) {
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string") visit(item as Node);
      }
    }
  };
  visit(statement);
  return found;
}

/**
 * The members of the class around a place (fields, methods, accessors, and properties its code assigns
 * with `this.x = ...`), or null outside any class.
 */
export function classMembersAt(node: TreeNode): Set<string> | null {
  let body: TreeNode | null = node;
  while (body !== null && body.label !== "ClassBody") body = body.parent;
  if (body === null) return null;
  const members = new Set<string>();
  const visit = (n: Node): void => {
    const key = (n as { key?: Node }).key;
    if (
      (n.type === "ClassProperty" || n.type === "ClassMethod" || n.type === "ClassAccessorProperty" || n.type === "TSDeclareMethod") &&
      key?.type === "Identifier"
    )
      members.add(key.name);
    if (n.type === "ClassMethod" && n.kind === "constructor") {
      for (const param of n.params)
        if (param.type === "TSParameterProperty") for (const name of patternNames(param.parameter)) members.add(name);
    }
    if (
      n.type === "AssignmentExpression" &&
      n.left.type === "MemberExpression" &&
      n.left.object.type === "ThisExpression" &&
      n.left.property.type === "Identifier"
    )
      members.add(n.left.property.name);
    for (const [k, field] of Object.entries(n)) {
      if (k === "loc" || k.endsWith("Comments")) continue;
      for (const item of Array.isArray(field) ? field : [field]) {
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string") visit(item as Node);
      }
    }
  };
  visit(body.ast);
  return members;
}
