import traverseModule, { type Binding, type NodePath } from "@babel/traverse";
import type { ForOfStatement, Node } from "@babel/types";
import { florLogName, florLoopName } from "../propagate/flor-calls.js";
import { parseSource } from "../propagate/parse-source.js";
import { MUTATORS, registeredBy } from "../propagate/unregistered-state.js";
import type { ModuleSources } from "./statement-level.js";

type Traverse = typeof import("@babel/traverse")["default"];
// @babel/traverse is CommonJS: its default export arrives wrapped once more under plain Node ESM.
const traverse: Traverse = (traverseModule as unknown as { default?: Traverse }).default ?? (traverseModule as unknown as Traverse);

/**
 * Whether a statement's values can be replayed by running only the suffix of each outermost iteration:
 * `names` are the log names such an iteration journals (the statement's own first, then others that are
 * provably right there too, which are compared with the recorded run); `why` says why not.
 */
export type SuffixReplay = { names: string[] } | { why: string };

/** Methods of arrays, typed arrays, strings, maps and sets that leave their object as it is (their callbacks are checked as code). */
const READERS = new Set([
  "at",
  "concat",
  "entries",
  "every",
  "filter",
  "find",
  "findIndex",
  "findLast",
  "findLastIndex",
  "flat",
  "flatMap",
  "forEach",
  "get",
  "has",
  "includes",
  "indexOf",
  "join",
  "keys",
  "lastIndexOf",
  "map",
  "reduce",
  "reduceRight",
  "slice",
  "some",
  "subarray",
  "toString",
  "values",
]);

/** How many calls deep the functions a statement calls are followed. */
const CALL_DEPTH = 3;

/**
 * Decides by data flow whether the `flor.log("name")` call on `line` of `code` (the version's source
 * with the statement propagated in) can be replayed without running its iteration's inner loops: the
 * end-of-iteration checkpoint is restored where the first inner `flor.loop` starts, the inner loops
 * yield nothing, and the rest of the body runs. That is right when the statement is a statement of the
 * outermost loop's body after every inner loop (each itself a statement of the body, so it runs every
 * iteration), and everything it reads is: a variable `flor.checkpointing` registers (restored), the
 * loop's item, an import or a global, a variable the body declares after the inner loops from such
 * values, or a variable declared before the loop that nothing in the loop or in a function can change
 * (no assignment, no member assignment, no mutating method, never passed to a call), following the
 * functions of the module it calls. The code after the inner loops must not assign into registered
 * objects (it would change them twice); what it does through calls is checked when the replay runs
 * (the registered state at the iteration's end must equal the checkpoint). Anything else is a doubt:
 * the iteration executes in full. Null when the loop has no inner loops (nothing to skip).
 */
export function suffixReplay(
  code: string,
  filename: string,
  line: number,
  name: string,
  loop: string,
  modules: ModuleSources,
): SuffixReplay | null {
  let file: ReturnType<typeof parseSource>;
  try {
    file = parseSource(code, filename);
  } catch (error) {
    return { why: `${filename} does not parse: ${(error as Error).message}` };
  }
  let loopPath: NodePath<ForOfStatement> | null = null;
  const registered = new Set<Binding>();
  traverse(file, {
    ForOfStatement(path) {
      if (loopPath !== null || florLoopName(path.node) !== loop) return;
      if (path.findParent((p) => p.isForOfStatement() && florLoopName(p.node) !== null) === null) loopPath = path;
    },
    CallExpression(path) {
      const callee = path.node.callee;
      if (
        callee.type === "MemberExpression" &&
        callee.object.type === "Identifier" &&
        callee.object.name === "flor" &&
        callee.property.type === "Identifier" &&
        callee.property.name === "checkpointing"
      ) {
        const argument = path.get("arguments")[0];
        if (argument !== undefined) for (const binding of registeredBy(argument)) registered.add(binding);
      }
    },
  });
  if (loopPath === null) return { why: `flor.loop("${loop}") is not written in ${filename}` };
  const outer: NodePath<ForOfStatement> = loopPath;
  const body = outer.get("body");
  if (!body.isBlockStatement()) return { why: `the body of flor.loop("${loop}") is not a block` };
  const statements = body.get("body");
  const own = statements.findIndex((statement) => logsAt(statement.node, name, line));
  if (own < 0) return { why: `flor.log("${name}") is not in a statement of flor.loop("${loop}")'s own body` };
  const inner = statements.flatMap((statement, i) => (hasLoop(statement.node) ? [i] : []));
  // Nothing to skip: not a doubt, and nothing worth a note in the plan.
  if (inner.length === 0) return null;
  if (inner.some((i) => florLoopName(statements[i]!.node) === null))
    return { why: "an inner flor.loop is not a statement of the loop's body of its own, so it may not run every iteration" };
  const last = Math.max(...inner);
  if (last >= own) return { why: "it runs before an inner flor.loop, or in one" };

  const analysis = new SuffixAnalysis(outer, statements, last, registered);
  const changed = analysis.registeredChanged();
  if (changed !== null) return { why: changed };
  const why = analysis.check(own);
  if (why !== null) return { why };
  const counts = logCounts(modules, filename, file);
  if (counts.get(name) !== 1) return { why: `flor.log("${name}") is called in more than one place` };
  const names = [name];
  for (let k = last + 1; k < statements.length; k++)
    for (const other of logNamesIn(statements[k]!.node))
      if (!names.includes(other) && counts.get(other) === 1 && analysis.check(k) === null) names.push(other);
  return { names };
}

class SuffixAnalysis {
  constructor(
    private readonly loop: NodePath<ForOfStatement>,
    private readonly statements: NodePath[],
    /** Index of the last statement of the body that is an inner loop. */
    private readonly last: number,
    private readonly registered: Set<Binding>,
  ) {}

  /** Why the code after the inner loops cannot run again on the restored state: it assigns into a registered object. */
  registeredChanged(): string | null {
    for (const binding of this.registered) {
      if (binding.constantViolations.length > 0)
        return `"${binding.identifier.name}" is registered with flor.checkpointing but assigned again`;
      for (const ref of binding.referencePaths) {
        const k = this.statements.findIndex((statement) => within(ref.node, statement.node));
        if (k > this.last && writes(ref, false))
          return `the code after the inner loops changes "${binding.identifier.name}", which the end-of-iteration checkpoint already holds`;
      }
    }
    return null;
  }

  /** Why statement `k` of the body cannot be replayed after the inner loops; null when it can. */
  check(k: number): string | null {
    return this.reads(this.statements[k]!, k, CALL_DEPTH, new Set());
  }

  /** Why what `path` reads is not provably the same in a suffix-only iteration; null when it is. */
  private reads(path: NodePath, k: number, depth: number, seen: Set<Binding>): string | null {
    let why: string | null = null;
    const scope = path.node;
    const identifier = (p: NodePath): void => {
      if (why !== null || !p.isIdentifier()) return;
      why = this.binding(p, p.node.name, scope, k, depth, seen);
    };
    if (path.isIdentifier()) identifier(path);
    path.traverse({
      ReferencedIdentifier(p) {
        identifier(p);
      },
      ThisExpression() {
        why ??= "it reads `this`";
      },
    });
    return why;
  }

  private binding(p: NodePath, name: string, scope: Node, k: number, depth: number, seen: Set<Binding>): string | null {
    if (name === "flor") return null;
    const binding = p.scope.getBinding(name);
    if (binding === undefined || within(binding.path.node, scope) || seen.has(binding)) return null;
    seen.add(binding);
    if (binding.kind === "module") return null;
    const loop = this.loop.node;
    if (within(binding.path.node, loop.left)) return null;
    if (this.registered.has(binding)) return null;
    const declaration = binding.path;
    if (within(declaration.node, loop.body)) {
      // Declared in the iteration: only a declaration after the inner loops (and before statement k) is recomputed.
      const index = this.statements.findIndex((statement) => within(declaration.node, statement.node));
      const statement = this.statements[index];
      const init = declaration.isVariableDeclarator() ? declaration.get("init") : null;
      if (
        index > this.last &&
        index < k &&
        statement!.isVariableDeclaration() &&
        declaration.parentPath === statement &&
        binding.constantViolations.length === 0 &&
        init?.node !== null &&
        init?.node !== undefined
      )
        return this.reads(init as NodePath, k, depth, seen);
      return `it reads "${name}", which the iteration computes before or in its inner loops`;
    }
    if (binding.constantViolations.some((violation) => !this.inPrelude(violation)))
      return `it reads "${name}", which is assigned in the loop or in a function`;
    const init = declaration.isVariableDeclarator() ? declaration.get("init") : null;
    const fn = declaration.isFunctionDeclaration()
      ? declaration
      : init !== null && (init.isFunctionExpression() || init.isArrowFunctionExpression())
        ? init
        : null;
    if (fn !== null) {
      if (depth === 0) return `it calls "${name}", deeper than ${CALL_DEPTH} calls`;
      return this.reads(fn, k, depth - 1, seen);
    }
    if (declaration.isClassDeclaration() || init?.isClassExpression() === true) return `it uses the class "${name}"`;
    for (const ref of binding.referencePaths)
      if (!this.inPrelude(ref) && writes(ref, true))
        return `it reads "${name}", which flor.checkpointing does not register and the loop or a function may change`;
    return null;
  }

  /** Code before the loop, in the loop's own function: it ran before the iteration in the replay too. */
  private inPrelude(p: NodePath): boolean {
    return (p.node.end ?? 0) <= (this.loop.node.start ?? 0) && p.getFunctionParent()?.node === this.loop.getFunctionParent()?.node;
  }
}

/**
 * Whether the reference may change the variable's object: assigned into (`x.a = `, `x.a++`, `delete
 * x.a`), a mutating method called on it (`x.push()`), or, when `calls`, any method called on it or it
 * passed to a call (what a call does is not followed).
 */
function writes(ref: NodePath, calls: boolean): boolean {
  let at: NodePath = ref;
  while (
    at.parentPath !== null &&
    ((at.parentPath.isMemberExpression() && at.key === "object") ||
      (at.parentPath.isOptionalMemberExpression() && at.key === "object") ||
      at.parentPath.isTSAsExpression() ||
      at.parentPath.isTSNonNullExpression())
  )
    at = at.parentPath;
  const parent = at.parentPath;
  if (parent === null) return false;
  if (parent.isAssignmentExpression() && at.key === "left") return true;
  if (parent.isUpdateExpression()) return true;
  if (parent.isUnaryExpression() && parent.node.operator === "delete") return true;
  if ((parent.isCallExpression() || parent.isOptionalCallExpression()) && at.key === "callee" && at !== ref) {
    const callee = at.node;
    const method =
      (callee.type === "MemberExpression" || callee.type === "OptionalMemberExpression") && callee.property.type === "Identifier"
        ? callee.property.name
        : null;
    return method === null || MUTATORS.has(method) || (calls && !READERS.has(method));
  }
  if (calls && at.listKey === "arguments") return true;
  if (calls && parent.isSpreadElement() && parent.listKey === "arguments") return true;
  // `[x.a] = ...`, `({ k: x.a } = ...)`, `for (x.a of ...)`: written through a pattern.
  if (parent.isArrayPattern() || parent.isRestElement()) return true;
  if (parent.isObjectProperty() && at.key === "value" && parent.parentPath?.isObjectPattern() === true) return true;
  if ((parent.isForOfStatement() || parent.isForInStatement() || parent.isAssignmentPattern()) && at.key === "left") return true;
  return false;
}

function within(node: Node, outer: Node): boolean {
  return (node.start ?? -1) >= (outer.start ?? 0) && (node.end ?? Infinity) <= (outer.end ?? 0);
}

/** Depth-first over a node's children. */
function each(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const key of Object.keys(node) as (keyof Node)[]) {
    if (key === "loc" || key === "leadingComments" || key === "trailingComments" || key === "innerComments") continue;
    const value = node[key] as unknown;
    if (Array.isArray(value)) {
      for (const child of value) if (isNode(child)) each(child, visit);
    } else if (isNode(value)) each(value, visit);
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function logsAt(node: Node, name: string, line: number): boolean {
  let found = false;
  each(node, (n) => {
    if (!found && n.loc?.start.line === line && florLogName(n) === name) found = true;
  });
  return found;
}

function hasLoop(node: Node): boolean {
  let found = false;
  each(node, (n) => {
    if (!found && florLoopName(n) !== null) found = true;
  });
  return found;
}

function logNamesIn(node: Node): string[] {
  const names: string[] = [];
  each(node, (n) => {
    const name = florLogName(n);
    if (name !== null && !names.includes(name)) names.push(name);
  });
  return names;
}

/** How many `flor.log` calls name each log name, over the script's modules. */
function logCounts(modules: ModuleSources, filename: string, parsed: Node): Map<string, number> {
  const counts = new Map<string, number>();
  const count = (root: Node) =>
    each(root, (n) => {
      const name = florLogName(n);
      if (name !== null) counts.set(name, (counts.get(name) ?? 0) + 1);
    });
  count(parsed);
  for (const [other, code] of modules) {
    if (other === filename) continue;
    try {
      count(parseSource(code, other));
    } catch {
      // a module that does not parse logs nothing that replay could run
    }
  }
  return counts;
}
