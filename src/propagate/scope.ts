import traverseModule, { type NodePath } from "@babel/traverse";
import type { File, Node } from "@babel/types";
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

/** A name every script can use without declaring it (`Math`, `console`, `require`). */
export function isGlobalName(name: string): boolean {
  return GLOBALS.has(name);
}

/** An identifier a statement reads or writes that is declared outside it. */
export interface FreeIdentifier {
  name: string;
  start: number;
  end: number;
  /** `{ lr }`: renaming the value must keep the key, so the caller writes `lr: newName`. */
  shorthand: boolean;
  /** No declaration anywhere in the file: a global of the environment (`document`, `process`). */
  global: boolean;
  /** Assigned or updated by the statement (`x = ...`, `x += ...`, `x++`, `[x] = ...`). */
  written: boolean;
}

type Traverse = typeof import("@babel/traverse")["default"];
// @babel/traverse is CommonJS: its default export arrives wrapped once more under plain Node ESM.
const traverse: Traverse = (traverseModule as unknown as { default?: Traverse }).default ?? (traverseModule as unknown as Traverse);

const references = new WeakMap<File, FreeReference[]>();

interface FreeReference extends FreeIdentifier {
  /** Where the declaration it refers to starts, or -1 for a global. */
  declaredAt: number;
}

/** Type positions (`x as Foo`, `: Foo`) name types, not values: the value side of these wrappers does count. */
const VALUE_WRAPPERS = new Set([
  "TSAsExpression",
  "TSSatisfiesExpression",
  "TSNonNullExpression",
  "TSTypeAssertion",
  "TSInstantiationExpression",
]);

/**
 * Every identifier of a file that reads or writes a variable, with where its declaration is, from
 * Babel's own scope analysis (so parameters of methods, catch clauses, loop heads, classes and labels
 * are all bound where JavaScript binds them). Computed once per parsed file.
 */
function referencesOf(file: File): FreeReference[] {
  const cached = references.get(file);
  if (cached !== undefined) return cached;
  const found: FreeReference[] = [];
  traverse(file, {
    Identifier(path) {
      const node = path.node;
      const parent = path.parent;
      if (parent.type === "LabeledStatement" || parent.type === "BreakStatement" || parent.type === "ContinueStatement") return;
      const binding = path.scope.getBinding(node.name);
      if (binding?.identifier === node) return; // its declaration
      const referenced = path.isReferencedIdentifier();
      // Targets of assignments (`x = 1`, `[a, b] = c`) are binding positions to Babel, yet they use an outer variable.
      const target = (path as NodePath).isBindingIdentifier();
      if (!referenced && !target) return;
      if (path.findParent((p) => p.type.startsWith("TS") && !VALUE_WRAPPERS.has(p.type)) !== null) return;
      const written =
        !referenced ||
        (parent.type === "AssignmentExpression" && path.key === "left") ||
        (parent.type === "UpdateExpression" && path.key === "argument");
      found.push({
        name: node.name,
        start: node.start!,
        end: node.end!,
        shorthand: parent.type === "ObjectProperty" && path.key === "value" && parent.shorthand,
        global: binding === undefined,
        written,
        declaredAt: binding === undefined ? -1 : binding.identifier.start!,
      });
    },
  });
  found.sort((a, b) => a.start - b.start);
  references.set(file, found);
  return found;
}

/**
 * The identifiers a statement of `file` reads or writes from its surroundings: references whose
 * declaration is outside the statement (or nowhere: globals). Property names, object keys, labels,
 * types and everything the statement declares itself (parameters, catch clauses, loop variables,
 * inner functions and classes) are left out.
 */
export function freeIdentifiers(file: File, statement: Node): FreeIdentifier[] {
  const from = statement.start!;
  const to = statement.end!;
  const all = referencesOf(file);
  // Sorted by position: find the first reference inside the statement by bisection.
  let low = 0;
  let high = all.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (all[mid]!.start < from) low = mid + 1;
    else high = mid;
  }
  const found: FreeIdentifier[] = [];
  for (let i = low; i < all.length && all[i]!.start < to; i++) {
    const { declaredAt, ...rest } = all[i]!;
    if (rest.end <= to && (declaredAt < from || declaredAt >= to)) found.push(rest);
  }
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
