import type { Node } from "@babel/types";
import { parseSource } from "./parse-source.js";
import { buildTree, isDescendant, type SyntaxTree, type TreeNode } from "./syntax-tree.js";
import { matchTrees, type Mapping } from "./gumtree.js";
import { florLoopName, logStatementName } from "./flor-calls.js";
import { classMembersAt, freeIdentifiers, namesBoundAt, patternNames, thisMembers } from "./scope.js";

export interface Injected {
  name: string;
  /** Line of the statement in the new version. */
  fromLine: number;
  /** Lines it occupies in the patched old version (first and last). */
  line: number;
  endLine: number;
  /** Identifiers renamed to their names in the old version. */
  renamed: Record<string, string>;
  /** Statements of the new version injected with it because they compute its value (`const g = ...`), each at its own place. */
  helpers: { text: string; line: number; endLine: number }[];
}

export interface Declined {
  name: string;
  fromLine: number;
  /** Why it could not be placed, in words a person can check. */
  reason: string;
}

export interface Present {
  name: string;
  fromLine: number;
  /** Where the old version already has it. */
  line: number;
}

export interface PropagationReport {
  injected: Injected[];
  declined: Declined[];
  present: Present[];
  /** The old source with the injected statements; byte-identical elsewhere. */
  code: string;
}

export interface PropagateOptions {
  /** Only these log names (default: every `flor.log` statement of the new version). */
  names?: readonly string[];
  /** File name, for choosing the parser (default: a TypeScript file). */
  filename?: string;
}

/** A statement's place in the old version: before statement `index` of `container`, next to `after` or `before`. */
interface Target {
  container: TreeNode;
  index: number;
  after: TreeNode | null;
  before: TreeNode | null;
}

/** Text to splice in at `offset`; `node` is the new version's statement (for ordering and reporting). */
interface Piece {
  offset: number;
  text: string;
  node: TreeNode;
}

/**
 * Propagates `flor.log` statements from the newest version of a script into an old version: matches
 * the two syntax trees (GumTree), places each new statement in the old block that matches its block,
 * right after the counterpart of its nearest matched earlier sibling (or before that of the next), with
 * variables renamed as the versions renamed them. It declines, with the reason, whenever it cannot be
 * sure: no matched place, a different loop nesting there, or a name not bound there.
 */
export function propagate(newCode: string, oldCode: string, options: PropagateOptions = {}): PropagationReport {
  const filename = options.filename ?? "script.ts";
  const hashes = new Map<string, number>();
  const newTree = buildTree(parseSource(newCode, filename), hashes);
  const oldTree = buildTree(parseSource(oldCode, filename), hashes);
  const mapping = matchTrees(newTree, oldTree);
  const placer = new Placer(newTree, oldTree, mapping, renameVotes(newTree, mapping), newCode, oldCode);
  const wanted = options.names === undefined ? null : new Set(options.names);

  const report: PropagationReport = { injected: [], declined: [], present: [], code: oldCode };
  const pieces: Piece[] = [];
  const reports = new Map<TreeNode, Omit<Injected, "line" | "endLine" | "helpers"> & { helpers: TreeNode[] }>();
  for (const node of newTree.nodes) {
    const name = logStatementName(node.ast);
    if (name === null || (wanted !== null && !wanted.has(name))) continue;
    const fromLine = node.ast.loc!.start.line;
    const image = mapping.srcToDst.get(node);
    if (image !== undefined && logStatementName(image.ast) === name) {
      report.present.push({ name, fromLine, line: image.ast.loc!.start.line });
      continue;
    }
    const placed = placer.place(node);
    if (typeof placed === "string") report.declined.push({ name, fromLine, reason: placed });
    else {
      pieces.push(...placed.pieces);
      reports.set(node, { name, fromLine, renamed: placed.renamed, helpers: placed.pieces.map((p) => p.node).filter((n) => n !== node) });
    }
  }

  // Splice in order of offset (statements at one offset in their new order), noting where each lands.
  pieces.sort((a, b) => a.offset - b.offset || a.node.id - b.node.id);
  const lines = new Map<TreeNode, { line: number; endLine: number }>();
  let code = "";
  let copied = 0;
  for (const piece of pieces) {
    code += oldCode.slice(copied, piece.offset);
    copied = piece.offset;
    const line = countLines(code) + (/^\r?\n/.test(piece.text) ? 1 : 0);
    code += piece.text;
    lines.set(piece.node, { line, endLine: line + countLines(piece.text.trim()) - 1 });
  }
  report.code = code + oldCode.slice(copied);
  for (const [node, entry] of reports) {
    const helpers = entry.helpers.map((helper) => ({ text: newCode.slice(helper.ast.start!, helper.ast.end!), ...lines.get(helper)! }));
    report.injected.push({ ...entry, ...lines.get(node)!, helpers });
  }
  report.injected.sort((a, b) => a.fromLine - b.fromLine);
  return report;
}

/** The 1-based line number at the end of `text`. */
function countLines(text: string): number {
  let lines = 1;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
  return lines;
}

/**
 * For each identifier name of the new version, the old name its matched occurrences mostly have (which
 * may be the same name). A declaration (`const x = ...`) matched to a declaration with a matching
 * initializer counts three times: it is the strongest evidence of a rename. A tie or a single matched
 * use names no winner, and then only a name bound as it is can be used.
 */
function renameVotes(newTree: SyntaxTree, mapping: Mapping): Map<string, string> {
  const votes = new Map<string, Map<string, number>>();
  for (const node of newTree.nodes) {
    if (node.label !== "Identifier") continue;
    const image = mapping.srcToDst.get(node);
    if (image === undefined || image.label !== "Identifier") continue;
    const weight = declarationVote(node, image, mapping);
    if (weight === 0) continue;
    const forName = votes.get(node.value) ?? new Map<string, number>();
    forName.set(image.value, (forName.get(image.value) ?? 0) + weight);
    votes.set(node.value, forName);
  }
  const renames = new Map<string, string>();
  for (const [name, counts] of votes) {
    const [first, second] = [...counts].sort((a, b) => b[1] - a[1]);
    // One matched use alone is too weak to rename on: it may be a look-alike that recovery paired.
    if (first !== undefined && first[1] >= 2 && (second === undefined || first[1] > second[1])) renames.set(name, first[0]);
  }
  return renames;
}

/**
 * How much a pair of matched identifiers says about a rename: 1 for uses; for declarations
 * (`const x = init`), 3 when the two initializers are matched to each other, and nothing when they are
 * not, since declarations matched only by their position say nothing about what the names hold.
 */
function declarationVote(node: TreeNode, image: TreeNode, mapping: Mapping): number {
  const declarator = (n: TreeNode): TreeNode | null =>
    n.parent?.label === "VariableDeclarator" && (n.parent.ast as { id?: unknown }).id === n.ast ? n.parent : null;
  const a = declarator(node);
  const b = declarator(image);
  if (a === null && b === null) return 1;
  if (a === null || b === null) return 0;
  const init = (d: TreeNode): TreeNode | undefined => d.children.find((c) => c.ast === (d.ast as { init?: unknown }).init);
  const initA = init(a);
  const initB = init(b);
  if (initA !== undefined && initB !== undefined) return mapping.srcToDst.get(initA) === initB ? 3 : 0;
  // `for (const x of items)`: no initializer; the loops themselves must be matched.
  const loopA = a.parent?.parent;
  const loopB = b.parent?.parent;
  const isLoop = (n: TreeNode | null | undefined): n is TreeNode => n?.label === "ForOfStatement" || n?.label === "ForInStatement";
  return initA === undefined && initB === undefined && isLoop(loopA) && isLoop(loopB) && mapping.srcToDst.get(loopA) === loopB ? 3 : 0;
}

/** Statement lists: where a statement can stand. */
function statementList(node: TreeNode): Node[] | null {
  const ast = node.ast as unknown as Record<string, unknown>;
  if (node.label === "Program" || node.label === "BlockStatement" || node.label === "StaticBlock") return ast["body"] as Node[];
  if (node.label === "SwitchCase") return ast["consequent"] as Node[];
  return null;
}

/** The `flor.loop` names around a node, outermost first. */
function loopContext(node: TreeNode | null): string[] {
  const names: string[] = [];
  for (let at = node; at !== null; at = at.parent) {
    const name = florLoopName(at.ast);
    if (name !== null) names.unshift(name);
  }
  return names;
}

/** Finds places in the old version for statements of the new one, and the text to put there. */
class Placer {
  /** Helper statements already placed for an earlier log statement, and where. */
  private readonly placedHelpers = new Map<TreeNode, Target>();

  constructor(
    private readonly newTree: SyntaxTree,
    private readonly oldTree: SyntaxTree,
    private readonly mapping: Mapping,
    private readonly renames: Map<string, string>,
    private readonly newCode: string,
    private readonly oldCode: string,
  ) {}

  place(statement: TreeNode): { pieces: Piece[]; renamed: Record<string, string> } | string {
    const target = this.targetOf(statement);
    if (typeof target === "string") return target;
    const newLoops = loopContext(statement);
    const oldLoops = loopContext(target.container);
    if (newLoops.join("/") !== oldLoops.join("/")) {
      return `it runs inside ${describeLoops(newLoops)} but its place in the old version is inside ${describeLoops(oldLoops)}`;
    }
    // A block of its own with no counterpart (a new `if`, a new callback): its statements run under
    // conditions the old version does not have, so no place there means the same.
    // That is when its place is in the counterpart of a block that encloses the new one.
    const block = statement.parent!;
    const enclosing = this.mapping.dstToSrc.get(target.container);
    if (!this.mapping.hasSrc(block) && enclosing !== undefined && isDescendant(block, enclosing)) {
      return `its block (line ${block.ast.loc!.start.line} of the new version) has no counterpart in the old version`;
    }
    const helpers = this.helpersOf(statement, target);
    if (typeof helpers === "string") return helpers;

    // Each helper goes to its own place (what it computes may change later in the block), which must
    // come no later than the statement's in the same old block.
    const renamed: Record<string, string> = {};
    const pieces: Piece[] = [];
    const declaredBefore = (at: Target): Set<string> => {
      const names = namesBoundAt(at.container, at.index);
      for (const [helper, where] of this.placedHelpers) {
        if (where.container === at.container && where.index <= at.index) for (const name of declaredNames(helper.ast)) names.add(name);
      }
      return names;
    };
    for (const helper of helpers) {
      const where = this.targetOf(helper);
      if (typeof where === "string" || where.container !== target.container || where.index > target.index) {
        return `it needs \`${declaredNames(helper.ast).join("`, `")}\` (line ${helper.ast.loc!.start.line} of the new version), which has no place before it in the old version`;
      }
      const text = this.renamedText(helper, declaredBefore(where), renamed, classMembersAt(where.container));
      if (typeof text === "string") return text;
      const piece = this.pieceAt(where, text.text, helper);
      if (typeof piece === "string") return piece;
      pieces.push(piece);
      this.placedHelpers.set(helper, where);
    }
    const text = this.renamedText(statement, declaredBefore(target), renamed, classMembersAt(target.container));
    if (typeof text === "string") {
      for (const helper of helpers) this.placedHelpers.delete(helper);
      return text;
    }
    const piece = this.pieceAt(target, text.text, statement);
    if (typeof piece === "string") return piece;
    return { pieces: [...pieces, piece], renamed };
  }

  /** Where a statement of the new version goes in the old one, or why there is no such place. */
  private targetOf(statement: TreeNode): Target | string {
    const container = statement.parent;
    const siblings = container === null ? null : statementList(container);
    if (container === null || siblings === null) return "it is not a statement of a block";
    const index = siblings.indexOf(statement.ast);
    const oldContainer = this.mapping.srcToDst.get(container);
    // A sibling that is itself a flor.log only anchors when the old version has that same log there.
    const anchorOf = (sibling: Node): TreeNode | undefined => {
      const image = this.mapping.srcToDst.get(this.newTree.of.get(sibling)!);
      const name = logStatementName(sibling);
      if (image === undefined || (name !== null && logStatementName(image.ast) !== name)) return undefined;
      const list = image.parent === null ? null : statementList(image.parent);
      if (list === null || (oldContainer !== undefined && image.parent !== oldContainer)) return undefined;
      return image;
    };
    for (let i = index - 1; i >= 0; i--) {
      const image = anchorOf(siblings[i]!);
      if (image !== undefined)
        return { container: image.parent!, index: statementList(image.parent!)!.indexOf(image.ast) + 1, after: image, before: null };
    }
    for (let i = index + 1; i < siblings.length; i++) {
      const image = anchorOf(siblings[i]!);
      if (image !== undefined)
        return { container: image.parent!, index: statementList(image.parent!)!.indexOf(image.ast), after: null, before: image };
    }
    const oldSiblings = oldContainer === undefined ? null : statementList(oldContainer);
    if (oldContainer !== undefined && oldSiblings !== null) {
      const first = oldSiblings[0];
      const last = oldSiblings[oldSiblings.length - 1];
      return index === 0 || last === undefined
        ? { container: oldContainer, index: 0, after: null, before: first === undefined ? null : (this.oldTree.of.get(first) ?? null) }
        : { container: oldContainer, index: oldSiblings.length, after: this.oldTree.of.get(last) ?? null, before: null };
    }
    return `its context (line ${statement.ast.loc!.start.line} of the new version) has no counterpart in the old version`;
  }

  /**
   * The `const` declarations earlier in the statement's block of the new version that declare names
   * it needs and the old version lacks at the target (transitively): they only compute its value.
   */
  private helpersOf(statement: TreeNode, target: Target): TreeNode[] | string {
    const bound = namesBoundAt(target.container, target.index);
    const available = (name: string): boolean => bound.has(name) || bound.has(this.renames.get(name) ?? name);
    const siblings = statementList(statement.parent!)!;
    const index = siblings.indexOf(statement.ast);
    const chosen = new Set<Node>();
    for (const pending = [statement.ast]; pending.length > 0; ) {
      for (const { name } of freeIdentifiers(pending.pop()!)) {
        if (available(name)) continue;
        const helper = siblings
          .slice(0, index)
          .reverse()
          .find((s) => s.type === "VariableDeclaration" && s.kind === "const" && declaredNames(s).includes(name));
        if (helper === undefined || chosen.has(helper)) continue;
        const tree = this.newTree.of.get(helper)!;
        if (this.placedHelpers.has(tree)) continue;
        const repeated = this.repeatedEffect(tree);
        if (repeated !== null) {
          return `it needs \`${name}\`, computed by \`${this.newCode.slice(repeated.ast.start!, repeated.ast.end!)}\` (line ${tree.ast.loc!.start.line} of the new version), which the old version already runs elsewhere: running it again could change what the old version computes`;
        }
        chosen.add(helper);
        pending.push(helper);
      }
    }
    return siblings.filter((s) => chosen.has(s)).map((s) => this.newTree.of.get(s)!);
  }

  /**
   * A call, `new`, assignment, update or await inside a helper statement that is matched to the old
   * version: the old version already runs it, so injecting the helper would run it twice.
   */
  private repeatedEffect(helper: TreeNode): TreeNode | null {
    const effects = new Set([
      "CallExpression",
      "NewExpression",
      "AssignmentExpression",
      "UpdateExpression",
      "AwaitExpression",
      "OptionalCallExpression",
    ]);
    for (const node of this.newTree.nodes.slice(helper.id, helper.end)) {
      if (effects.has(node.label) && this.mapping.hasSrc(node)) return node;
    }
    return null;
  }

  /** The statement's text with identifiers renamed as the versions did, each checked to be bound. */
  private renamedText(
    statement: TreeNode,
    bound: Set<string>,
    renamed: Record<string, string>,
    members: Set<string> | null,
  ): { text: string } | string {
    const start = statement.ast.start!;
    let text = this.newCode.slice(start, ownEnd(statement.ast, this.newCode));
    // `this.x`: a member of the old version's class, renamed by the same votes, or declined.
    const memberEdits: { start: number; end: number; replacement: string }[] = [];
    for (const member of members === null ? [] : thisMembers(statement.ast)) {
      const voted = this.renames.get(member.name);
      const oldName = voted !== undefined && members!.has(voted) ? voted : members!.has(member.name) ? member.name : null;
      if (oldName === null) return `\`this.${member.name}\` is not a member of the class in the old version`;
      if (oldName !== member.name) {
        renamed[`this.${member.name}`] = `this.${oldName}`;
        memberEdits.push({ start: member.start, end: member.end, replacement: oldName });
      }
    }
    const edits: { start: number; end: number; replacement: string }[] = [...memberEdits];
    for (const identifier of freeIdentifiers(statement.ast).sort((a, b) => b.start - a.start)) {
      // A name bound in the old version keeps its meaning there; only an unbound one follows a rename.
      // The versions' matched occurrences decide (names can even swap); without a clear vote, a name
      // bound as it is in the old version is taken to mean the same.
      const voted = this.renames.get(identifier.name);
      // A name that another name of the new version was renamed to means something else in the old version.
      const taken = [...this.renames].some(([from, to]) => to === identifier.name && from !== identifier.name);
      const oldName =
        voted !== undefined ? (bound.has(voted) ? voted : null) : bound.has(identifier.name) && !taken ? identifier.name : null;
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
  private pieceAt(target: Target, text: string, statement: TreeNode): Piece | string {
    const { newCode, oldCode } = this;
    const lineStart = (code: string, offset: number): number => code.lastIndexOf("\n", offset - 1) + 1;
    const indentOf = (code: string, offset: number): string => /^[ \t]*/.exec(code.slice(lineStart(code, offset)))![0];
    const newIndent = indentOf(newCode, statement.ast.start!);
    // Semicolon-less code lets the next line continue the statement (`;(x)` style): match the old version's habit.
    const neighbour = target.after ?? target.before;
    if (!text.endsWith(";") && neighbour !== null && oldCode[neighbour.ast.end! - 1] === ";") text += ";";
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
      return { offset: at, text: `${eol}${reindent(indentOf(oldCode, target.after.ast.start!))}`, node: statement };
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
      return { offset: begin, text: `${reindent(indentOf(oldCode, target.before.ast.start!))}${eol}`, node: statement };
    }
    // An empty block: after its opening brace, one level deeper than the brace's line.
    const open = target.container.ast.start!;
    const unit = /\n([ \t]+)\S/.exec(oldCode)?.[1] ?? "  ";
    const braceLineEnd = oldCode.indexOf("\n", open);
    if (braceLineEnd === -1 || oldCode.slice(open + 1, braceLineEnd).trim() !== "")
      return "its place in the old version is an empty block written on one line";
    return { offset: braceLineEnd, text: `\n${reindent(indentOf(oldCode, open) + unit)}`, node: statement };
  }
}

/** Where a statement ends on its own lines: a `;` on a later line (semicolon-less `;(x)`) belongs to the next one. */
function ownEnd(node: Node, code: string): number {
  const end = node.end!;
  if (code[end - 1] !== ";") return end;
  const inner = (node as { expression?: Node }).expression ?? (node as { declarations?: Node[] }).declarations?.at(-1);
  return inner !== undefined && code.slice(inner.end!, end).includes("\n") ? inner.end! : end;
}

/** The names a `const`/`let`/`var` statement declares (simple identifiers and destructuring). */
function declaredNames(node: Node): string[] {
  if (node.type !== "VariableDeclaration") return [];
  return node.declarations.flatMap((d) => patternNames(d.id));
}

function describeLoops(names: string[]): string {
  return names.length === 0 ? "no flor.loop" : names.map((n) => `flor.loop("${n}")`).join(" > ");
}
