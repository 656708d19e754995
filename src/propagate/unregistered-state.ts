import traverseModule, { type Binding, type NodePath, type Scope } from "@babel/traverse";
import type { Node } from "@babel/types";
import { florLoopName } from "./flor-calls.js";
import { parseSource } from "./parse-source.js";
import { patternNames } from "./scope.js";

type Traverse = typeof import("@babel/traverse")["default"];
// @babel/traverse is CommonJS: its default export arrives wrapped once more under plain Node ESM.
const traverse: Traverse = (traverseModule as unknown as { default?: Traverse }).default ?? (traverseModule as unknown as Traverse);

/** Methods that change the object they are called on: arrays, typed arrays, maps and sets. */
export const MUTATORS = new Set([
  "push",
  "pop",
  "shift",
  "unshift",
  "splice",
  "sort",
  "reverse",
  "fill",
  "copyWithin",
  "set",
  "add",
  "delete",
  "clear",
]);

/**
 * The module-level variables that the body of an outermost `flor.loop` (the one named `loop`, or the
 * first one when null) changes from one iteration to the next without `flor.checkpointing` registering
 * them: the state a replay from a checkpoint does not restore. A variable counts when the loop body, or
 * a function of the module it calls (followed through further calls), assigns it (`drift += 1`), assigns
 * into it (`rng.s = ...`, `order[i] = ...`) or calls a mutating method on it (`history.push(...)`).
 * Registered objects, and variables initialised as a part of one (`const w = model.w`), do not count.
 * What happens inside other modules, or through calls on objects, is not seen: the list can miss state,
 * and names only likely causes. Sorted; empty when the code does not parse.
 */
export function unregisteredState(code: string, filename: string, loop: string | null): string[] {
  let file: ReturnType<typeof parseSource>;
  try {
    file = parseSource(code, filename);
  } catch {
    return [];
  }
  let program: Scope | null = null;
  let body: NodePath | null = null;
  const registered = new Set<Binding>();
  traverse(file, {
    Program(path) {
      program = path.scope;
    },
    ForOfStatement(path) {
      const name = florLoopName(path.node);
      if (body !== null || name === null || (loop !== null && name !== loop)) return;
      // Outermost: no flor.loop around it.
      if (path.findParent((p) => p.isForOfStatement() && florLoopName(p.node) !== null) === null) body = path.get("body");
    },
    CallExpression(path) {
      const callee = path.node.callee;
      if (
        callee.type !== "MemberExpression" ||
        callee.object.type !== "Identifier" ||
        callee.object.name !== "flor" ||
        callee.property.type !== "Identifier" ||
        callee.property.name !== "checkpointing"
      )
        return;
      const argument = path.get("arguments")[0];
      if (argument !== undefined) for (const binding of registeredBy(argument)) registered.add(binding);
    },
  });
  if (program === null || body === null) return [];
  const moduleScope: Scope = program;
  const isModuleLevel = (binding: Binding | undefined): binding is Binding => binding !== undefined && binding.scope === moduleScope;
  // A variable that starts as a part of a registered object (`const w = model.w`) is registered state too.
  for (const binding of Object.values(moduleScope.bindings)) {
    const init = binding.path.isVariableDeclarator() ? binding.path.node.init : null;
    const root = init === null || init === undefined ? null : rootIdentifier(init);
    if (root !== null && [...registered].some((r) => r.identifier.name === root && r.scope === moduleScope)) registered.add(binding);
  }

  const changed = new Set<string>();
  const visited = new Set<Node>();
  const write = (path: NodePath, name: string | null): void => {
    if (name === null || name === "flor") return;
    const binding = path.scope.getBinding(name);
    if (isModuleLevel(binding) && !registered.has(binding)) changed.add(name);
  };
  const visit = (path: NodePath): void => {
    if (visited.has(path.node)) return;
    visited.add(path.node);
    path.traverse({
      AssignmentExpression(p) {
        const left = p.node.left;
        const root = rootIdentifier(left);
        if (root !== null) write(p, root);
        else for (const name of patternNames(left)) write(p, name);
      },
      UpdateExpression(p) {
        write(p, rootIdentifier(p.node.argument));
      },
      UnaryExpression(p) {
        if (p.node.operator === "delete") write(p, rootIdentifier(p.node.argument));
      },
      CallExpression(p) {
        const callee = p.node.callee;
        if (callee.type === "MemberExpression" && callee.property.type === "Identifier" && MUTATORS.has(callee.property.name))
          write(p, rootIdentifier(callee.object));
        // A function of this module that the loop calls runs in the loop: what it changes counts.
        if (callee.type !== "Identifier") return;
        const binding = p.scope.getBinding(callee.name);
        if (!isModuleLevel(binding)) return;
        const declaration = binding.path;
        if (declaration.isFunctionDeclaration()) visit(declaration.get("body"));
        else if (declaration.isVariableDeclarator()) {
          const init = declaration.get("init");
          if (init.isFunctionExpression() || init.isArrowFunctionExpression()) visit(init.get("body") as NodePath);
        }
      },
    });
  };
  visit(body);
  return [...changed].sort();
}

/** The bindings an argument of `flor.checkpointing` registers: the variables its object's properties name (or the one variable passed). */
export function registeredBy(argument: NodePath): Binding[] {
  const bindings: Binding[] = [];
  const add = (node: Node | null | undefined): void => {
    const name = node === null || node === undefined ? null : rootIdentifier(node);
    const binding = name === null ? undefined : argument.scope.getBinding(name);
    if (binding !== undefined) bindings.push(binding);
  };
  const node = argument.node;
  if (node.type === "ObjectExpression") {
    for (const property of node.properties) if (property.type === "ObjectProperty") add(property.value);
  } else {
    add(node);
    // `flor.checkpointing(state)` with `const state = { model, optimizer }`: its parts are registered too.
    const binding = node.type === "Identifier" ? argument.scope.getBinding(node.name) : undefined;
    const init = binding?.path.isVariableDeclarator() ? binding.path.node.init : null;
    if (init?.type === "ObjectExpression")
      for (const property of init.properties) if (property.type === "ObjectProperty") add(property.value);
  }
  return bindings;
}

/** The variable at the root of `x`, `x.a.b`, `x[i].c`, `(x as T).a`; null for anything else. */
function rootIdentifier(node: Node): string | null {
  let at: Node = node;
  for (;;) {
    switch (at.type) {
      case "Identifier":
        return at.name;
      case "MemberExpression":
      case "OptionalMemberExpression":
        at = at.object;
        break;
      case "TSAsExpression":
      case "TSNonNullExpression":
      case "TSSatisfiesExpression":
      case "TSTypeAssertion":
        at = at.expression;
        break;
      default:
        return null;
    }
  }
}
