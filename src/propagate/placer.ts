import type { File, Node } from "@babel/types";
import { florLogName } from "./flor-calls.js";
import type { Mapping } from "./gumtree.js";
import { describeLoops, isFunction, loopContext } from "./loop-context.js";
import { classMembersAt, freeIdentifiers, isGlobalName, namesBoundAt, patternNames, thisMembers } from "./scope.js";
import { isDescendant, type SyntaxTree, type TreeNode } from "./syntax-tree.js";

/** A statement's place in the old version: before statement `index` of `container`, next to `after` or `before`. */
export interface Target {
  container: TreeNode;
  index: number;
  after: TreeNode | null;
  before: TreeNode | null;
  /** Why the place is not certain, though the loops around it can still be compared. */
  doubt?: string | undefined;
}

/**
 * Text to splice in at `offset`; `node` is the new version's node it comes from (for ordering and
 * reporting); pieces at one offset go in order of `rank` (a wrap's `)` before a new line, its
 * `flor.log(` after one), then of the new version's order.
 */
export interface Piece {
  offset: number;
  text: string;
  node: TreeNode;
  rank: number;
}

export interface Placed {
  pieces: Piece[];
  renamed: Record<string, string>;
  /** The statements of the new version injected with it because they compute its value. */
  helpers: TreeNode[];
  /** It uses `flor`, which the old module does not import: the import must come along. */
  needsImport: boolean;
}

export interface Versions {
  newTree: SyntaxTree;
  oldTree: SyntaxTree;
  newFile: File;
  mapping: Mapping;
  renames: Map<string, string>;
  newCode: string;
  oldCode: string;
  /** The old module binds `flor` at its top, or the new version's import of it can be carried there. */
  florAtTop: "bound" | "carried" | "missing";
}

/** Statement lists: where a statement can stand. */
export function statementList(node: TreeNode): Node[] | null {
  const ast = node.ast as unknown as Record<string, unknown>;
  if (node.label === "Program" || node.label === "BlockStatement" || node.label === "StaticBlock") return ast["body"] as Node[];
  if (node.label === "SwitchCase") return ast["consequent"] as Node[];
  return null;
}

/** The statement of a block that contains a node (the node itself when it is one), or null. */
export function listStatement(node: TreeNode): TreeNode | null {
  for (let at: TreeNode | null = node; at !== null; at = at.parent) {
    if (at.parent !== null && statementList(at.parent)?.includes(at.ast)) return at;
  }
  return null;
}

const ENDS_BLOCK = new Set(["ReturnStatement", "ThrowStatement"]);

const EFFECTS = new Set([
  "CallExpression",
  "NewExpression",
  "AssignmentExpression",
  "UpdateExpression",
  "AwaitExpression",
  "OptionalCallExpression",
]);

/** Finds places in the old version for statements of the new one, and the text to put there. */
export class Placer {
  /** Helper statements already placed for an earlier log statement, and where. */
  private readonly placedHelpers = new Map<TreeNode, Target>();

  constructor(private readonly v: Versions) {}

  /**
   * Places a statement of the new version that the old one lacks: a `flor.log(...)` statement, or a
   * new statement with a `flor.log` inside (`const mse = flor.log("mse", sq / n)`), which must then
   * neither declare a name the old version already has there nor repeat what the old version runs.
   */
  place(statement: TreeNode, kind: "log" | "statement"): Placed | string {
    const { mapping } = this.v;
    if (kind === "statement") {
      const repeated = this.repeatedEffect(statement);
      if (repeated !== null)
        return `it runs \`${this.excerpt(repeated)}\`, which the old version already runs (line ${this.imageLine(repeated)})`;
    }
    const target = this.targetOf(statement, kind === "statement");
    if (typeof target === "string") return target;
    const newLoops = loopContext(this.v.newTree, statement);
    const oldLoops = loopContext(this.v.oldTree, target.container);
    if (newLoops.join("/") !== oldLoops.join("/")) {
      return `it runs inside ${describeLoops(newLoops)} but its place in the old version is inside ${describeLoops(oldLoops)}`;
    }
    // A block of its own with no counterpart (a new `if`, a new callback): its statements run under
    // conditions the old version does not have, so no place there means the same.
    // That is when its place is in the counterpart of a block that encloses the new one.
    const block = statement.parent!;
    const enclosing = mapping.dstToSrc.get(target.container);
    if (!mapping.hasSrc(block) && enclosing !== undefined && isDescendant(block, enclosing)) {
      return `its block (line ${block.ast.loc!.start.line} of the new version) has no counterpart in the old version`;
    }
    if (target.doubt !== undefined) return target.doubt;
    const helpers = this.helpersOf(statement, target);
    if (typeof helpers === "string") return helpers;

    // Each helper goes to its own place (what it computes may change later in the block), which must
    // come no later than the statement's in the same old block.
    const renamed: Record<string, string> = {};
    const pieces: Piece[] = [];
    const usesFlor = { needed: false };
    const declaredBefore = (at: Target): Set<string> => {
      const names = namesBoundAt(at.container, at.index);
      for (const [helper, where] of this.placedHelpers) {
        if (where.container === at.container && where.index <= at.index) for (const name of declaredNames(helper.ast)) names.add(name);
      }
      return names;
    };
    const undo = (): void => {
      for (const helper of helpers) this.placedHelpers.delete(helper);
    };
    for (const helper of helpers) {
      const where = this.targetOf(helper, true);
      if (typeof where === "string" || where.doubt !== undefined || where.container !== target.container || where.index > target.index) {
        undo();
        return `it needs \`${declaredNames(helper.ast).join("`, `") || this.excerpt(helper)}\` (line ${helper.ast.loc!.start.line} of the new version), which has no place before it in the old version`;
      }
      const clash = this.clash(helper, where, declaredBefore(where));
      if (clash !== null) {
        undo();
        return clash;
      }
      const text = this.renamedText(helper, declaredBefore(where), renamed, classMembersAt(where.container), usesFlor);
      const piece = typeof text === "string" ? text : this.pieceAt(where, text.text, helper);
      if (typeof piece === "string") {
        undo();
        return piece;
      }
      pieces.push(piece);
      this.placedHelpers.set(helper, where);
    }
    const bound = declaredBefore(target);
    const clash = this.clash(statement, target, bound);
    if (clash !== null) {
      undo();
      return clash;
    }
    const text = this.renamedText(statement, bound, renamed, classMembersAt(target.container), usesFlor);
    const piece = typeof text === "string" ? text : this.pieceAt(target, text.text, statement);
    if (typeof piece === "string") {
      undo();
      return piece;
    }
    return { pieces: [...pieces, piece], renamed, helpers, needsImport: usesFlor.needed };
  }

  /** A name the statement declares that the old version already has at its place, or in its block. */
  private clash(statement: TreeNode, target: Target, bound: Set<string>): string | null {
    const inBlock = new Set(statementList(target.container)!.flatMap((s) => declaredNames(s)));
    const name = declaredNames(statement.ast).find((n) => (bound.has(n) && !isGlobalName(n)) || inBlock.has(n));
    return name === undefined ? null : `it declares \`${name}\`, which the old version already declares there`;
  }

  /**
   * A `flor.log(name, value)` inside a statement that the old version has without it: wraps the old
   * version's counterpart of `value` in the same call. Returns null when no old statement is the same
   * as this one without the call (up to renamed variables): the statement is then new, or changed.
   */
  wrapInPlace(call: TreeNode, statement: TreeNode): Placed | string | null {
    const { mapping, newCode, oldTree } = this.v;
    const valueAst = (call.ast as { arguments: Node[] }).arguments[1];
    if (valueAst === undefined) return "it logs no value";
    const value = this.v.newTree.of.get(valueAst)!;
    const candidates = new Set<TreeNode>();
    const image = mapping.srcToDst.get(statement);
    if (image !== undefined && listStatement(image) === image) candidates.add(image);
    const valueImage = mapping.srcToDst.get(value);
    const around = valueImage === undefined ? null : listStatement(valueImage);
    if (around !== null) candidates.add(around);
    // Its place by its neighbours, and every statement of the block there (a moved statement).
    const target = this.targetOf(statement);
    if (typeof target !== "string" && target.doubt === undefined)
      for (const s of statementList(target.container)!) candidates.add(oldTree.of.get(s)!);
    const matches = new Map<TreeNode, TreeNode>();
    for (const candidate of candidates) {
      const found = this.sameWithoutCall(statement, candidate, call, value);
      if (found !== null) matches.set(found, candidate);
    }
    if (matches.size > 1) {
      const lines = [...matches.values()].map((m) => m.ast.loc!.start.line).join(" and ");
      return `the old version has this statement in more than one place (lines ${lines})`;
    }
    const [match] = matches;
    if (match === undefined) return null;
    const [oldValue, oldStatement] = match;
    const newLoops = loopContext(this.v.newTree, statement);
    const oldLoops = loopContext(oldTree, oldStatement);
    if (newLoops.join("/") !== oldLoops.join("/"))
      return `it runs inside ${describeLoops(newLoops)} but the old version's statement (line ${oldStatement.ast.loc!.start.line}) runs inside ${describeLoops(oldLoops)}`;
    const oneLine = (text: string): string => (text.includes("\n") ? text.replace(/\s*\n\s*/g, " ").replace(/,\s*\)$/, ")") : text);
    const open = oneLine(newCode.slice(call.ast.start!, valueAst.start!));
    const close = oneLine(newCode.slice(valueAst.end!, call.ast.end!));
    const needsImport = this.v.florAtTop === "carried";
    if (this.v.florAtTop === "missing")
      return "`flor` is not defined in the old version, and the new version does not import it at its top";
    return {
      pieces: [
        { offset: oldValue.ast.start!, text: open, node: call, rank: 1 + call.id / 1e9 },
        { offset: oldValue.ast.end!, text: close, node: call, rank: -1 - call.id / 1e9 },
      ],
      renamed: {},
      helpers: [],
      needsImport,
    };
  }

  /**
   * Whether old statement `old` is new statement `statement` with `call` replaced by its `value`, up to
   * renamed variables; returns the old node that stands where `value` does.
   */
  private sameWithoutCall(statement: TreeNode, old: TreeNode, call: TreeNode, value: TreeNode): TreeNode | null {
    const { renames } = this.v;
    let found: TreeNode | null = null;
    const equal = (n: TreeNode, o: TreeNode): boolean => {
      if (n === call) {
        if (florLogName(o.ast) !== null || !equal(value, o)) return false;
        found = o;
        return true;
      }
      const holdsCall = call.id >= n.id && call.id < n.end;
      if (!holdsCall && n.hash === o.hash) return true;
      if (n.label !== o.label || n.children.length !== o.children.length) return false;
      if (n.label === "Identifier" && !isPropertyName(n)) {
        if (n.value !== o.value && renames.get(n.value) !== o.value) return false;
      } else if (n.value !== o.value) return false;
      return n.children.every((child, i) => equal(child, o.children[i]!));
    };
    return equal(statement, old) ? found : null;
  }

  /**
   * Where a statement of the new version goes in the old one, or why there is no such place: after the
   * counterpart of its nearest matched earlier sibling, before that of its nearest matched later one.
   * Both neighbours are checked: their counterparts must be in one old block and in the same order, and
   * when the old version has other statements between them, only a neighbour right next to the
   * statement (new `flor.log` statements aside) decides its side; otherwise it declines.
   */
  targetOf(statement: TreeNode, strict = false): Target | string {
    const { mapping, newTree, oldTree } = this.v;
    const container = statement.parent;
    const siblings = container === null ? null : statementList(container);
    if (container === null || siblings === null) return "it is not a statement of a block";
    const index = siblings.indexOf(statement.ast);
    const oldContainer = mapping.srcToDst.get(container);
    // A sibling that is itself a flor.log only anchors when the old version has that same log there.
    const anchorOf = (sibling: Node): TreeNode | undefined => {
      const tree = newTree.of.get(sibling)!;
      const mapped = mapping.srcToDst.get(tree);
      const image = mapped !== undefined && this.alike(tree, mapped) ? mapped : this.changedCounterpart(tree, oldContainer);
      const name = logName(sibling);
      if (image === undefined || (name !== null && logName(image.ast) !== name)) return undefined;
      const list = image.parent === null ? null : statementList(image.parent);
      if (list === null || (oldContainer !== undefined && image.parent !== oldContainer)) return undefined;
      return image;
    };
    let prev: { at: number; image: TreeNode } | null = null;
    for (let i = index - 1; i >= 0 && prev === null; i--) {
      const image = anchorOf(siblings[i]!);
      if (image !== undefined) prev = { at: i, image };
    }
    let next: { at: number; image: TreeNode } | null = null;
    for (let i = index + 1; i < siblings.length && next === null; i++) {
      const image = anchorOf(siblings[i]!);
      if (image !== undefined) next = { at: i, image };
    }
    const line = (n: TreeNode): number => n.ast.loc!.start.line;
    if (prev === null && next === null) {
      const oldSiblings = oldContainer === undefined ? null : statementList(oldContainer);
      if (oldContainer === undefined || oldSiblings === null)
        return `its context (line ${statement.ast.loc!.start.line} of the new version) has no counterpart in the old version`;
      // Only the first or last statement of its block keeps its place at the start or end of the old block.
      const first = oldSiblings[0];
      const last = oldSiblings.at(-1);
      if (first === undefined || siblings.slice(0, index).every((s) => this.isNewLog(s)))
        return { container: oldContainer, index: 0, after: null, before: first === undefined ? null : (oldTree.of.get(first) ?? null) };
      if (siblings.slice(index + 1).every((s) => this.isNewLog(s)))
        return { container: oldContainer, index: oldSiblings.length, after: oldTree.of.get(last!) ?? null, before: null };
      return `none of the statements around it has a counterpart in its block of the old version (line ${line(oldContainer)})`;
    }
    const block = (prev ?? next)!.image.parent!;
    const list = statementList(block)!;
    if (prev !== null && next !== null && next.image.parent !== block)
      return `its neighbours' counterparts in the old version (lines ${line(prev.image)} and ${line(next.image)}) are in different blocks`;
    const from = prev === null ? 0 : list.indexOf(prev.image.ast) + 1;
    const to = next === null ? list.length : list.indexOf(next.image.ast);
    if (from > to)
      return `its neighbours' counterparts in the old version (lines ${line(prev!.image)} and ${line(next!.image)}) are in the other order`;
    // The new block has no counterpart: its neighbours' counterparts count only in a block whose owner
    // (the `if`, loop or function around it) matches the new block's owner.
    // A matched block must belong to the counterpart of its own `if`, loop or function, when that has one.
    const owner = container.parent === null ? undefined : mapping.srcToDst.get(container.parent);
    const doubt =
      (oldContainer === undefined && (block.parent === null || mapping.dstToSrc.get(block.parent) !== container.parent)) ||
      (oldContainer !== undefined && owner !== undefined && owner !== block.parent)
        ? `its block (line ${container.ast.loc!.start.line} of the new version) has no counterpart in the old version`
        : undefined;
    const newFunction = enclosingFunction(container);
    const oldFunction = enclosingFunction(block);
    const counterpart = mapping.srcToDst.get(newFunction);
    if (counterpart !== undefined && counterpart !== oldFunction)
      return `its function (line ${newFunction.ast.loc!.start.line} of the new version) matches the old version's at line ${counterpart.ast.loc!.start.line}, but its neighbours' counterparts are in another one (line ${oldFunction.ast.loc!.start.line})`;
    const after: Target | null = prev === null ? null : { container: block, index: from, after: prev.image, before: null, doubt };
    const before: Target | null = next === null ? null : { container: block, index: to, after: null, before: next.image, doubt };
    // Old statements between the two counterparts (flor.log statements aside) make the place ambiguous.
    const settled = !list.slice(from, to).some((s) => logName(s) === null);
    const chosen = settled ? (after ?? before)! : null;
    // A `return` or `throw` ends its block: anywhere else it would cut off the old version's code.
    if (ENDS_BLOCK.has(statement.label) && (chosen === null || to < list.length || next !== null))
      return `it ends its block (\`${statement.label === "ReturnStatement" ? "return" : "throw"}\`), but its place in the old version is not at the end of one`;
    if (chosen !== null) return chosen;
    const between = list.slice(from, to);
    const lines = `lines ${between[0]!.loc!.start.line}–${between.at(-1)!.loc!.end.line}`;
    // Only a log statement, which changes nothing, may follow its neighbour into an ambiguous place, and
    // only when what it reads cannot be changed by the statements there.
    const unsure = (why: string): Target => ({ ...(after ?? before)!, doubt: doubt ?? why });
    if (strict) return unsure(`the old version has other statements (${lines}) where it would go: its place among them is not certain`);
    const interference = this.interference(
      statement,
      between.map((s) => oldTree.of.get(s)!),
    );
    if (interference !== null) return unsure(`the old version has other statements (${lines}) where it would go, and ${interference}`);
    const adjacent = (a: number, b: number): boolean => siblings.slice(a + 1, b).every((s) => this.isNewLog(s));
    if (after !== null && adjacent(prev!.at, index)) return after;
    if (before !== null && adjacent(index, next!.at)) return before;
    return unsure(`the old version has other statements (${lines}) where it would go, and its own neighbours there have no counterpart`);
  }

  /**
   * Why statements of the old version could change what a log statement reads: they assign, update or
   * call methods of a name (or `this`) that it reads, or call a plain function. Null when they cannot.
   */
  private interference(log: TreeNode, others: TreeNode[]): string | null {
    const reads = new Set(freeIdentifiers(this.v.newFile, log.ast).map((r) => r.name));
    if (thisMembers(log.ast).length > 0) reads.add("this");
    for (const other of others) {
      for (const n of this.v.oldTree.nodes.slice(other.id, other.end)) {
        const ast = n.ast;
        const target =
          ast.type === "AssignmentExpression"
            ? ast.left
            : ast.type === "UpdateExpression"
              ? ast.argument
              : ast.type === "CallExpression" || ast.type === "NewExpression"
                ? ast.callee
                : null;
        if (target === null) continue;
        let root: Node = target;
        while (root.type === "MemberExpression" || root.type === "OptionalMemberExpression") root = root.object;
        const name = root.type === "Identifier" ? root.name : root.type === "ThisExpression" ? "this" : null;
        // A plain function call may change anything it can reach.
        if (name === null || reads.has(name) || (ast.type === "CallExpression" && target.type === "Identifier" && reads.size > 0))
          return `they may change what it reads (line ${ast.loc!.start.line})`;
      }
    }
    return null;
  }

  /**
   * The old statement a changed statement of the new version came from, when the statement itself is
   * unmatched: the one statement of the old block that holds every matched part of it (calls, member
   * accesses and larger; lone names and literals match too easily to count).
   */
  private changedCounterpart(statement: TreeNode, oldContainer: TreeNode | undefined): TreeNode | undefined {
    if (oldContainer === undefined || logName(statement.ast) !== null) return undefined;
    let found: TreeNode | undefined;
    for (const node of this.v.newTree.nodes.slice(statement.id + 1, statement.end)) {
      if (node.height < 2) continue;
      const image = this.v.mapping.srcToDst.get(node);
      if (image === undefined) continue;
      let at: TreeNode | null = image;
      while (at !== null && at.parent !== oldContainer) at = at.parent;
      if (at === null || (found !== undefined && at !== found)) return undefined;
      found = at;
    }
    if (found === undefined) return undefined;
    // Recovery pairs leftover statements by type alone: a new flor.log paired with it is no counterpart.
    const partner = this.v.mapping.dstToSrc.get(found);
    return partner === undefined || (logName(partner.ast) !== null && logName(found.ast) === null) ? found : undefined;
  }

  /**
   * Whether two matched statements are alike enough to anchor on: GumTree's recovery pairs leftover
   * statements by their type alone, so their names and literals (renamed as the versions renamed
   * them) must largely agree too.
   */
  private alike(statement: TreeNode, old: TreeNode): boolean {
    if (statement.hash === old.hash) return true;
    const leaves = (tree: SyntaxTree, node: TreeNode, rename: boolean): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const n of tree.nodes.slice(node.id, node.end)) {
        if (n.children.length > 0 || n.value === "") continue;
        const value = rename && n.label === "Identifier" ? (this.v.renames.get(n.value) ?? n.value) : n.value;
        const key = `${n.label}:${value}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    };
    const a = leaves(this.v.newTree, statement, true);
    const b = leaves(this.v.oldTree, old, false);
    let common = 0;
    let total = 0;
    for (const [key, n] of a) {
      common += Math.min(n, b.get(key) ?? 0);
      total += n;
    }
    for (const n of b.values()) total += n;
    return total === 0 || (2 * common) / total >= 0.5;
  }

  /** A statement of the new version that is a `flor.log(...)` the old version lacks. */
  private isNewLog(node: Node): boolean {
    return logName(node) !== null && !this.v.mapping.hasSrc(this.v.newTree.of.get(node)!);
  }

  /**
   * The statements earlier in the statement's block of the new version that compute names it needs
   * and the old version lacks at the target (transitively): a declaration, and for a `let`/`var`, the
   * statements that then write it (`let sq = 0; for (const w of ws) sq += w * w;`). They may write only
   * the names they declare themselves.
   */
  private helpersOf(statement: TreeNode, target: Target): TreeNode[] | string {
    const { newTree, newFile } = this.v;
    const bound = namesBoundAt(target.container, target.index);
    const available = (name: string): boolean =>
      bound.has(name) || bound.has(this.v.renames.get(name) ?? name) || (name === "flor" && this.v.florAtTop === "carried");
    const siblings = statementList(statement.parent!)!;
    const index = siblings.indexOf(statement.ast);
    const chosen = new Set<Node>();
    const own = new Set<string>();
    for (const pending = [statement.ast]; pending.length > 0; ) {
      for (const { name, global } of freeIdentifiers(newFile, pending.pop()!)) {
        if (global || available(name) || own.has(name)) continue;
        let at = index - 1;
        while (at >= 0 && !declaredNames(siblings[at]!).includes(name)) at--;
        if (at < 0) continue;
        own.add(name);
        const group = [siblings[at]!];
        for (let i = at + 1; i < index; i++) {
          if (freeIdentifiers(newFile, siblings[i]!).some((r) => r.written && r.name === name)) group.push(siblings[i]!);
        }
        for (const helper of group) {
          const tree = newTree.of.get(helper)!;
          if (chosen.has(helper) || this.placedHelpers.has(tree)) continue;
          const repeated = this.repeatedEffect(tree);
          if (repeated !== null) {
            return `it needs \`${name}\`, computed by \`${this.excerpt(repeated)}\` (line ${tree.ast.loc!.start.line} of the new version), which the old version already runs elsewhere: running it again could change what the old version computes`;
          }
          chosen.add(helper);
          pending.push(helper);
        }
      }
    }
    // What the helpers change must be theirs alone: their own new variables, or what they declare inside.
    for (const helper of chosen) {
      for (const r of freeIdentifiers(newFile, helper)) {
        if (r.written && !own.has(r.name))
          return `it needs \`${[...own].join("`, `")}\`, computed by statements that also change \`${r.name}\` (line ${helper.loc!.start.line} of the new version)`;
      }
      const member = this.memberWrite(newTree.of.get(helper)!, own);
      if (member !== null)
        return `it needs \`${[...own].join("`, `")}\`, computed by statements that also change \`${this.excerpt(member)}\` (line ${member.ast.loc!.start.line} of the new version)`;
    }
    return siblings.filter((s) => chosen.has(s)).map((s) => newTree.of.get(s)!);
  }

  /** An assignment to a property (`a.b = ...`, `a.b++`) whose object is not one of `own` nor declared inside `node`. */
  private memberWrite(node: TreeNode, own: Set<string>): TreeNode | null {
    const free = new Set(freeIdentifiers(this.v.newFile, node.ast).map((r) => r.start));
    for (const n of this.v.newTree.nodes.slice(node.id, node.end)) {
      const ast = n.ast;
      const target = ast.type === "AssignmentExpression" ? ast.left : ast.type === "UpdateExpression" ? ast.argument : null;
      if (target === null || target.type === "Identifier") continue;
      let root: Node = target;
      while (root.type === "MemberExpression" || root.type === "OptionalMemberExpression") root = root.object;
      if (root.type === "Identifier" && (own.has(root.name) || !free.has(root.start!))) continue;
      if (target.type === "ArrayPattern" || target.type === "ObjectPattern") continue;
      return this.v.newTree.of.get(target) ?? n;
    }
    return null;
  }

  /**
   * A call, `new`, assignment, update or await inside a statement that is matched to the old version:
   * the old version already runs it, so injecting the statement would run it twice. The `flor.log`
   * calls themselves do not count.
   */
  private repeatedEffect(statement: TreeNode): TreeNode | null {
    for (const node of this.v.newTree.nodes.slice(statement.id, statement.end)) {
      if (EFFECTS.has(node.label) && florLogName(node.ast) === null && this.v.mapping.hasSrc(node)) return node;
    }
    return null;
  }

  private excerpt(node: TreeNode): string {
    const text = this.v.newCode.slice(node.ast.start!, node.ast.end!).replace(/\s+/g, " ");
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }

  private imageLine(node: TreeNode): number {
    return this.v.mapping.srcToDst.get(node)?.ast.loc?.start.line ?? 0;
  }

  /** The statement's text with identifiers renamed as the versions did, each checked to be bound. */
  private renamedText(
    statement: TreeNode,
    bound: Set<string>,
    renamed: Record<string, string>,
    members: Set<string> | null,
    usesFlor: { needed: boolean },
  ): { text: string } | string {
    const { newCode, renames } = this.v;
    const start = statement.ast.start!;
    let text = newCode.slice(start, ownEnd(statement.ast, newCode));
    // `this.x`: a member of the old version's class, renamed by the same votes, or declined.
    const edits: { start: number; end: number; replacement: string }[] = [];
    // Only a member the new version's class has itself can be missing from the old one's: others are
    // inherited or made elsewhere, and one the statement assigns is made by it.
    const newMembers = classMembersAt(statement) ?? new Set<string>();
    const assigned = assignedMembers(statement.ast);
    for (const member of members === null ? [] : thisMembers(statement.ast)) {
      const voted = renames.get(member.name);
      const oldName =
        voted !== undefined && members!.has(voted)
          ? voted
          : members!.has(member.name) || !newMembers.has(member.name) || assigned.has(member.name)
            ? member.name
            : null;
      if (oldName === null) return `\`this.${member.name}\` is not a member of the class in the old version`;
      if (oldName !== member.name) {
        renamed[`this.${member.name}`] = `this.${oldName}`;
        edits.push({ start: member.start, end: member.end, replacement: oldName });
      }
    }
    for (const identifier of freeIdentifiers(this.v.newFile, statement.ast)) {
      if (identifier.name === "flor" && !bound.has("flor")) {
        if (this.v.florAtTop !== "carried") return "`flor` is not defined at that place in the old version";
        usesFlor.needed = true;
        continue;
      }
      // A name bound in the old version keeps its meaning there; only an unbound one follows a rename.
      // The versions' matched occurrences decide (names can even swap); without a clear vote, a name
      // bound as it is in the old version is taken to mean the same. A global of the new version
      // (declared nowhere in it) is the same global in the old one.
      const voted = renames.get(identifier.name);
      // A name that another name of the new version was renamed to means something else in the old version.
      const taken = [...renames].some(([from, to]) => to === identifier.name && from !== identifier.name);
      const oldName =
        voted !== undefined && bound.has(voted)
          ? voted
          : voted === undefined && bound.has(identifier.name) && !taken
            ? identifier.name
            : identifier.global && !taken
              ? identifier.name
              : null;
      if (oldName === null) {
        return `\`${identifier.name}\`${voted !== undefined && voted !== identifier.name ? ` (\`${voted}\` in the old version)` : ""} is not defined at that place in the old version`;
      }
      if (oldName !== identifier.name) {
        renamed[identifier.name] = oldName;
        edits.push({
          start: identifier.start,
          end: identifier.end,
          replacement: identifier.shorthand ? `${identifier.name}: ${oldName}` : oldName,
        });
      }
    }
    for (const edit of edits.sort((a, b) => b.start - a.start))
      text = text.slice(0, edit.start - start) + edit.replacement + text.slice(edit.end - start);
    return { text };
  }

  /** Text to splice into the old source: a line of its own, indented like its neighbours. */
  pieceAt(target: Target, text: string, statement: TreeNode): Piece | string {
    const { newCode, oldCode } = this.v;
    const lineStart = (code: string, offset: number): number => code.lastIndexOf("\n", offset - 1) + 1;
    const indentOf = (code: string, offset: number): string => /^[ \t]*/.exec(code.slice(lineStart(code, offset)))![0];
    const newIndent = indentOf(newCode, statement.ast.start!);
    // Semicolon-less code lets the next line continue the statement (`;(x)` style): match the old version's habit.
    const neighbour = target.after ?? target.before;
    if (!text.endsWith(";") && !text.endsWith("}") && neighbour !== null && oldCode[neighbour.ast.end! - 1] === ";") text += ";";
    // Later lines keep their depth relative to the first, written in the old version's unit (tabs or its
    // number of spaces), and lines end as they do there.
    const newUnit = /\n([ \t]+)\S/.exec(newCode)?.[1] ?? "  ";
    const oldUnit = /\n([ \t]+)\S/.exec(oldCode)?.[1] ?? "  ";
    const eol = oldCode.includes("\r\n") ? "\r\n" : "\n";
    const deeper = (extra: string): string => {
      let out = "";
      for (; extra.startsWith(newUnit); extra = extra.slice(newUnit.length)) out += oldUnit;
      return out + extra;
    };
    const reindent = (indent: string): string =>
      text
        .replace(/\r\n/g, "\n")
        .split("\n")
        .map((line, i) => {
          if (i === 0) return indent + line;
          if (!line.startsWith(newIndent)) return line;
          const rest = line.slice(newIndent.length);
          const extra = /^[ \t]*/.exec(rest)![0];
          return indent + deeper(extra) + rest.slice(extra.length);
        })
        .join(eol);

    if (target.after !== null) {
      const end = ownEnd(target.after.ast, oldCode);
      const lineEnd = oldCode.indexOf("\n", end) === -1 ? oldCode.length : oldCode.indexOf("\n", end);
      if (!/^\s*(\/\/.*|\/\*.*\*\/\s*)?$/.test(oldCode.slice(end, lineEnd)))
        return `its place in the old version (line ${target.after.ast.loc!.end.line}) shares a line with other code`;
      const at = oldCode[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd;
      return { offset: at, text: `${eol}${reindent(indentOf(oldCode, target.after.ast.start!))}`, node: statement, rank: 0 };
    }
    if (target.before !== null) {
      let begin = lineStart(oldCode, target.before.ast.start!);
      if (oldCode.slice(begin, target.before.ast.start!).trim() !== "")
        return `its place in the old version (line ${target.before.ast.loc!.start.line}) shares a line with other code`;
      // Comment lines right above the statement belong to it: go above them.
      for (const comment of [...(target.before.ast.leadingComments ?? [])].reverse()) {
        const from = lineStart(oldCode, comment.start!);
        const between = oldCode.slice(comment.end!, begin);
        if (oldCode.slice(from, comment.start!).trim() !== "" || between.trim() !== "" || between.split("\n").length > 2) break;
        begin = from;
      }
      return { offset: begin, text: `${reindent(indentOf(oldCode, target.before.ast.start!))}${eol}`, node: statement, rank: 0 };
    }
    // An empty `case x:`: after its colon, one level deeper than the case.
    const container = target.container.ast;
    if (container.type === "SwitchCase") {
      const colon = oldCode.indexOf(":", container.test?.end ?? container.start! + "default".length);
      const lineEnd = oldCode.indexOf("\n", colon);
      if (colon === -1 || lineEnd === -1 || oldCode.slice(colon + 1, lineEnd).trim() !== "")
        return "its place in the old version is an empty `case` that shares its line with other code";
      const unit = /\n([ \t]+)\S/.exec(oldCode)?.[1] ?? "  ";
      const at = oldCode[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd;
      return { offset: at, text: `${eol}${reindent(indentOf(oldCode, container.start!) + unit)}`, node: statement, rank: 0 };
    }
    // An empty block: after its opening brace, one level deeper than the brace's line.
    const open = target.container.ast.start!;
    const unit = /\n([ \t]+)\S/.exec(oldCode)?.[1] ?? "  ";
    const braceLineEnd = oldCode.indexOf("\n", open);
    const close = target.container.ast.end! - 1;
    if (braceLineEnd !== -1 && braceLineEnd < close && oldCode.slice(open + 1, braceLineEnd).trim() === "")
      return { offset: braceLineEnd, text: `\n${reindent(indentOf(oldCode, open) + unit)}`, node: statement, rank: 0 };
    // `{}` on one line: the statement goes on a line of its own between the braces.
    if (oldCode[open] !== "{" || oldCode[close] !== "}" || oldCode.slice(open + 1, close).trim() !== "")
      return "its place in the old version is a block that shares its line with other code";
    const indent = indentOf(oldCode, open);
    return { offset: close, text: `${eol}${reindent(indent + unit)}${eol}${indent}`, node: statement, rank: 0 };
  }
}

/** The function around a node, or the root of its tree. */
function enclosingFunction(node: TreeNode): TreeNode {
  let at = node;
  while (at.parent !== null && !isFunction(at.ast)) at = at.parent;
  return at;
}

/** The `this.x` members a statement assigns (`this.x = ...`). */
function assignedMembers(statement: Node): Set<string> {
  const found = new Set<string>();
  const visit = (node: Node): void => {
    if (
      node.type === "AssignmentExpression" &&
      node.left.type === "MemberExpression" &&
      node.left.object.type === "ThisExpression" &&
      !node.left.computed &&
      node.left.property.type === "Identifier"
    )
      found.add(node.left.property.name);
    for (const [key, field] of Object.entries(node)) {
      if (key === "loc" || key.endsWith("Comments")) continue;
      for (const item of Array.isArray(field) ? field : [field])
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string") visit(item as Node);
    }
  };
  visit(statement);
  return found;
}

/** A property name (`a.name`, `{ name: 1 }`, a method's name): not a variable, so never renamed as one. */
function isPropertyName(node: TreeNode): boolean {
  const parent = node.parent?.ast as { type: string; key?: Node; property?: Node; computed?: boolean } | undefined;
  if (parent === undefined || parent.computed) return false;
  if (parent.type === "MemberExpression" || parent.type === "OptionalMemberExpression") return parent.property === node.ast;
  return parent.key === node.ast;
}

/** The log name of a statement that is a `flor.log(...)` call of its own, or null. */
export function logName(node: Node): string | null {
  return node.type === "ExpressionStatement" ? florLogName(node.expression) : null;
}

/** Where a statement ends on its own lines: a `;` on a later line (semicolon-less `;(x)`) belongs to the next one. */
export function ownEnd(node: Node, code: string): number {
  const end = node.end!;
  if (code[end - 1] !== ";") return end;
  const inner = (node as { expression?: Node }).expression ?? (node as { declarations?: Node[] }).declarations?.at(-1);
  return inner !== undefined && code.slice(inner.end!, end).includes("\n") ? inner.end! : end;
}

/** The names a `const`/`let`/`var` statement declares (simple identifiers and destructuring). */
export function declaredNames(node: Node): string[] {
  if (node.type !== "VariableDeclaration") return [];
  return node.declarations.flatMap((d) => patternNames(d.id));
}
