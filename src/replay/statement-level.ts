import path from "node:path";
import type { Node } from "@babel/types";
import { florLogName, florLoopName } from "../propagate/flor-calls.js";
import { parseSource } from "../propagate/parse-source.js";

/**
 * Where a `flor.log` call runs relative to the script's loops, which decides what replay must execute
 * to produce its values: inside loops (the iterations in scope), before the outermost loop (its
 * prelude), after it (its final state), or unknown (the whole script).
 */
export type StatementLevel =
  | { kind: "loop"; loops: string[] }
  | { kind: "before" | "after"; loop: string }
  | { kind: "unknown"; why: string };

/** The source of the modules a script is made of: repository-relative path → code. */
export type ModuleSources = ReadonlyMap<string, string>;

type Path = Node[];

/** How many calls deep the level of a function's code is looked for at its call sites. */
const CALL_DEPTH = 3;

/**
 * The level of the `flor.log("name", ...)` call on `line` of `code`. Code in a function runs where the
 * function is called: its call sites in the same module and, given `modules`, in the modules that
 * import it (a few calls deep) decide, when they all agree.
 */
export function statementLevel(code: string, filename: string, line: number, name: string, modules?: ModuleSources): StatementLevel {
  const path = findLog(parseSource(code, filename), line, name);
  if (path === null) return { kind: "unknown", why: `no flor.log("${name}") at line ${line}` };
  const sources = new Map(modules ?? []);
  sources.set(filename, code);
  return levelOf(path, filename, sources, CALL_DEPTH);
}

function levelOf(path: Path, file: string, sources: ModuleSources, depth: number): StatementLevel {
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
  const calls = scope === undefined || scope.type === "Program" || depth === 0 ? null : callersLevel(path, scope, file, sources, depth - 1);
  if (loops.length > 0) return { kind: "loop", loops: calls?.kind === "loop" ? [...calls.loops, ...loops] : loops };
  if (calls?.kind === "loop") return calls;
  // Outside every loop: before or after the first flor.loop of the same function (or module body).
  const statement = path[path.length - 1]!;
  const loop = scope === undefined ? null : firstLoopIn(scope);
  if (loop === null) {
    if (calls !== null) return calls;
    return { kind: "unknown", why: "it is in a function without a flor.loop, and no call of that function decides when it runs" };
  }
  if (statement.end! <= loop.node.start!) return { kind: "before", loop: loop.name };
  if (statement.start! >= loop.node.end!) return { kind: "after", loop: loop.name };
  return { kind: "unknown", why: "its position relative to the loop is unclear" };
}

/**
 * The level of the calls of the function `fn` (at the end of `path`'s function part): every call
 * site in its module and in the modules that import it by name; null when none is found or they
 * disagree.
 */
function callersLevel(path: Path, fn: Node, file: string, sources: ModuleSources, depth: number): StatementLevel | null {
  const name = functionName(fn, path[path.indexOf(fn) - 1]);
  if (name === null) return null;
  const levels: StatementLevel[] = [];
  for (const [other, code] of sources) {
    const callee = other === file ? { local: name.name, namespace: null } : importedAs(code, other, file, name.name, sources);
    if (callee === null) continue;
    let root: Node;
    try {
      root = parseSource(code, other);
    } catch {
      continue;
    }
    visit(root, [], (node, ancestors) => {
      if (node === fn) return false; // its own recursive calls say nothing
      if (isCallOf(node, callee, name.method)) levels.push(levelOf([...ancestors, node], other, sources, depth));
      return true;
    });
  }
  if (levels.length === 0) return null;
  const first = JSON.stringify(levels[0]);
  return levels.every((l) => JSON.stringify(l) === first) ? levels[0]! : null;
}

/** The name the function is called by: `function f`, `const f = () => ...`, a method `m() {}` (called as `x.m()`). */
function functionName(fn: Node, parent: Node | undefined): { name: string; method: boolean } | null {
  if (fn.type === "FunctionDeclaration") return fn.id ? { name: fn.id.name, method: false } : null;
  if ((fn.type === "ClassMethod" || fn.type === "ObjectMethod") && !fn.computed && fn.key.type === "Identifier" && fn.kind === "method")
    return { name: fn.key.name, method: true };
  if (parent?.type === "VariableDeclarator" && parent.id.type === "Identifier" && parent.init === fn)
    return { name: parent.id.name, method: false };
  if ((parent?.type === "ClassProperty" || parent?.type === "ObjectProperty") && !parent.computed && parent.key.type === "Identifier")
    return { name: parent.key.name, method: true };
  return null;
}

/**
 * How module `other` refers to `name` exported by `file`: `import { name as local }`, `import * as ns`
 * (called `ns.name(...)`), or, for a method, any import of `file` (called `x.name(...)`); null when it
 * does not import `file`.
 */
function importedAs(
  code: string,
  other: string,
  file: string,
  name: string,
  sources: ModuleSources,
): { local: string; namespace: string | null } | null {
  if (!code.includes(name)) return null;
  let root: Node;
  try {
    root = parseSource(code, other);
  } catch {
    return null;
  }
  if (root.type !== "File") return null;
  let found: { local: string; namespace: string | null } | null = null;
  for (const statement of root.program.body) {
    if (statement.type !== "ImportDeclaration" || resolve(other, statement.source.value, sources) !== file) continue;
    for (const specifier of statement.specifiers) {
      if (specifier.type === "ImportNamespaceSpecifier") found = { local: name, namespace: specifier.local.name };
      const imported = specifier.type === "ImportSpecifier" ? specifier.imported : null;
      const importedName = imported === null ? "default" : imported.type === "Identifier" ? imported.name : imported.value;
      if (importedName === name) return { local: specifier.local.name, namespace: null };
    }
    found ??= { local: name, namespace: "*" };
  }
  return found;
}

/** `./model.js` written in TypeScript sources means `./model.ts`, as TypeScript and tsx resolve it. */
function resolve(from: string, specifier: string, sources: ModuleSources): string | null {
  if (!specifier.startsWith(".")) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.[mc]?js$/, "");
  for (const candidate of [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    `${base}.ts`,
    `${base}.js`,
    `${base}/index.ts`,
    `${base}/index.js`,
  ])
    if (sources.has(candidate)) return candidate;
  return null;
}

function isCallOf(node: Node, callee: { local: string; namespace: string | null }, method: boolean): boolean {
  if (node.type !== "CallExpression" && node.type !== "OptionalCallExpression") return false;
  const c = node.callee;
  if (c.type === "Identifier") return !method && callee.namespace === null && c.name === callee.local;
  if ((c.type !== "MemberExpression" && c.type !== "OptionalMemberExpression") || c.computed || c.property.type !== "Identifier")
    return false;
  if (c.property.name !== callee.local) return false;
  // `ns.f()` for a namespace import; `x.m()` for a method (any receiver).
  return method || (callee.namespace !== null && c.object.type === "Identifier" && c.object.name === callee.namespace);
}

/** The ancestors of the `flor.log("name", ...)` call on `line`, the statement that holds it last. */
function findLog(root: Node, line: number, name: string): Path | null {
  let found: Path | null = null;
  visit(root, [], (node, path) => {
    if (found !== null) return false;
    if (node.loc?.start.line === line && florLogName(node) === name) {
      // The statement that holds the call: the innermost ancestor that stands in a statement list.
      let at = path.length - 1;
      while (at > 0 && !isStatementOfList(path[at]!, path[at - 1]!)) at--;
      found = path.slice(0, at + 1);
      if (found.length === 0) found = [...path, node];
      return false;
    }
    return node.loc === null || node.loc === undefined || (node.loc.start.line <= line && node.loc.end.line >= line);
  });
  return found;
}

function isStatementOfList(node: Node, parent: Node): boolean {
  const record = parent as unknown as Record<string, unknown>;
  const list = parent.type === "SwitchCase" ? parent.consequent : (record["body"] as unknown);
  return Array.isArray(list) && list.includes(node);
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
