import type { Node } from "@babel/types";
import { parseSource } from "./parse-source.js";
import { buildTree, type SyntaxTree, type TreeNode } from "./syntax-tree.js";
import { matchTrees, type Mapping } from "./gumtree.js";
import { florLogName, florLoopName, logStatementName } from "./flor-calls.js";
import { freeIdentifiers, namesBoundAt } from "./scope.js";

export interface Injected {
  name: string;
  /** Line of the statement in the new version. */
  fromLine: number;
  /** Lines it occupies in the patched old version (first and last). */
  line: number;
  endLine: number;
  /** Identifiers renamed to their names in the old version. */
  renamed: Record<string, string>;
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

interface Insertion {
  offset: number;
  text: string;
  /** Sort key among insertions at one offset: the order of the statements in the new version. */
  order: number;
  report: Omit<Injected, "line" | "endLine">;
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
  const renames = renameVotes(newTree, mapping);
  const wanted = options.names === undefined ? null : new Set(options.names);

  const report: PropagationReport = { injected: [], declined: [], present: [], code: oldCode };
  const insertions: Insertion[] = [];
  for (const node of newTree.nodes) {
    const name = logStatementName(node.ast);
    if (name === null || (wanted !== null && !wanted.has(name))) continue;
    const fromLine = node.ast.loc!.start.line;
    const image = mapping.srcToDst.get(node);
    if (image !== undefined && logStatementName(image.ast) === name) {
      report.present.push({ name, fromLine, line: image.ast.loc!.start.line });
      continue;
    }
    const placed = place(node, newTree, oldTree, mapping, newCode, oldCode, renames);
    if ("reason" in placed) report.declined.push({ name, fromLine, reason: placed.reason });
    else insertions.push({ ...placed, order: node.id, report: { name, fromLine, renamed: placed.renamed } });
  }

  // Splice in order of offset (statements at one offset in their new order), tracking the shift.
  insertions.sort((a, b) => a.offset - b.offset || a.order - b.order);
  let code = "";
  let copied = 0;
  for (const insertion of insertions) {
    code += oldCode.slice(copied, insertion.offset);
    copied = insertion.offset;
    const leadingNewline = insertion.text.startsWith("\n") ? 1 : 0;
    const line = countLines(code) + leadingNewline;
    code += insertion.text;
    const endLine = line + countLines(insertion.text.trim()) - 1;
    report.injected.push({ ...insertion.report, line, endLine });
  }
  report.code = code + oldCode.slice(copied);
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
 * For each identifier name of the new version, the old name its matched occurrences mostly have. A
 * declaration (`const x = ...`, a parameter) matched to a declaration counts three times: it is the
 * strongest evidence of a rename. A tie names no winner, so the statement is declined, not guessed.
 */
function renameVotes(newTree: SyntaxTree, mapping: Mapping): Map<string, string> {
  const votes = new Map<string, Map<string, number>>();
  for (const node of newTree.nodes) {
    if (node.label !== "Identifier") continue;
    const image = mapping.srcToDst.get(node);
    if (image === undefined || image.label !== "Identifier") continue;
    const weight = isDeclaration(node) && isDeclaration(image) ? 3 : 1;
    const forName = votes.get(node.value) ?? new Map<string, number>();
    forName.set(image.value, (forName.get(image.value) ?? 0) + weight);
    votes.set(node.value, forName);
  }
  const renames = new Map<string, string>();
  for (const [name, counts] of votes) {
    const [first, second] = [...counts].sort((a, b) => b[1] - a[1]);
    if (first !== undefined && (second === undefined || first[1] > second[1])) renames.set(name, first[0]);
  }
  return renames;
}

function isDeclaration(node: TreeNode): boolean {
  const parent = node.parent;
  if (parent === null) return false;
  const ast = parent.ast as unknown as Record<string, unknown>;
  if (parent.label === "VariableDeclarator") return ast["id"] === node.ast;
  if (/Function|Method/.test(parent.label)) return Array.isArray(ast["params"]) && (ast["params"] as unknown[]).includes(node.ast);
  return false;
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

type Placement = { offset: number; text: string; renamed: Record<string, string> } | { reason: string };

function place(
  statement: TreeNode, newTree: SyntaxTree, oldTree: SyntaxTree, mapping: Mapping,
  newCode: string, oldCode: string, renames: Map<string, string>,
): Placement {
  const container = statement.parent;
  const siblings = container === null ? null : statementList(container);
  if (container === null || siblings === null) return { reason: "it is not a statement of a block" };
  const index = siblings.indexOf(statement.ast);
  const oldContainer = mapping.srcToDst.get(container);

  // Anchor: the nearest earlier sibling with a counterpart in the old block, else the nearest later one.
  let target: { container: TreeNode; index: number; after: TreeNode | null; before: TreeNode | null } | null = null;
  // A sibling that is itself a flor.log only anchors when the old version has that same log there.
  const anchorOf = (sibling: Node): TreeNode | undefined => {
    const image = mapping.srcToDst.get(newTree.of.get(sibling)!);
    const name = logStatementName(sibling);
    if (image === undefined || (name !== null && logStatementName(image.ast) !== name)) return undefined;
    return image;
  };
  const inOldBlock = (image: TreeNode | undefined): image is TreeNode =>
    image !== undefined && image.parent !== null && statementList(image.parent) !== null
    && (oldContainer === undefined || image.parent === oldContainer);
  for (let i = index - 1; i >= 0 && target === null; i--) {
    const image = anchorOf(siblings[i]!);
    if (inOldBlock(image)) target = { container: image.parent!, index: statementList(image.parent!)!.indexOf(image.ast) + 1, after: image, before: null };
  }
  for (let i = index + 1; i < siblings.length && target === null; i++) {
    const image = anchorOf(siblings[i]!);
    if (inOldBlock(image)) target = { container: image.parent!, index: statementList(image.parent!)!.indexOf(image.ast), after: null, before: image };
  }
  if (target === null && oldContainer !== undefined && statementList(oldContainer) !== null) {
    const oldSiblings = statementList(oldContainer)!;
    target = index === 0 || oldSiblings.length === 0
      ? { container: oldContainer, index: 0, after: null, before: oldSiblings[0] ? oldTree.of.get(oldSiblings[0]) ?? null : null }
      : { container: oldContainer, index: oldSiblings.length, after: oldTree.of.get(oldSiblings[oldSiblings.length - 1]!) ?? null, before: null };
  }
  if (target === null) return { reason: `its context (line ${statement.ast.loc!.start.line} of the new version) has no counterpart in the old version` };

  const newLoops = loopContext(statement);
  const oldLoops = loopContext(target.container);
  if (newLoops.join("/") !== oldLoops.join("/")) {
    return { reason: `it runs inside ${describeLoops(newLoops)} but its place in the old version is inside ${describeLoops(oldLoops)}` };
  }

  // Rename identifiers as the versions did, then check each is bound at the place in the old version.
  const start = statement.ast.start!;
  let text = newCode.slice(start, statement.ast.end!);
  const renamed: Record<string, string> = {};
  const free = freeIdentifiers(statement.ast).sort((a, b) => b.start - a.start);
  const bound = namesBoundAt(target.container, target.index);
  for (const identifier of free) {
    // A name bound in the old version keeps its meaning there; only an unbound one follows a rename.
    const voted = renames.get(identifier.name);
    const oldName = bound.has(identifier.name) ? identifier.name : voted !== undefined && bound.has(voted) ? voted : null;
    if (oldName === null) return { reason: `\`${identifier.name}\` is not defined at that place in the old version` };
    if (oldName !== identifier.name) {
      renamed[identifier.name] = oldName;
      const replacement = identifier.shorthand ? `${identifier.name}: ${oldName}` : oldName;
      text = text.slice(0, identifier.start - start) + replacement + text.slice(identifier.end - start);
    }
  }
  if (florLogName((statement.ast as { expression?: Node }).expression) === null) return { reason: "it is not a flor.log call" };

  return insertionAt(target, text, newCode, statement, oldCode, renamed);
}

function describeLoops(names: string[]): string {
  return names.length === 0 ? "no flor.loop" : names.map((n) => `flor.loop("${n}")`).join(" > ");
}

/** Text to splice into the old source: a line of its own, indented like its neighbours. */
function insertionAt(
  target: { container: TreeNode; after: TreeNode | null; before: TreeNode | null },
  text: string, newCode: string, statement: TreeNode, oldCode: string, renamed: Record<string, string>,
): Placement {
  const lineStart = (code: string, offset: number): number => code.lastIndexOf("\n", offset - 1) + 1;
  const indentOf = (code: string, offset: number): string => /^[ \t]*/.exec(code.slice(lineStart(code, offset)))![0];
  const newIndent = indentOf(newCode, statement.ast.start!);
  // Later lines of a multi-line statement keep their indentation relative to its first line.
  const reindent = (indent: string): string => text.split("\n").map((line, i) => (i === 0 ? indent + line : line.startsWith(newIndent) ? indent + line.slice(newIndent.length) : line)).join("\n");

  if (target.after !== null) {
    const end = target.after.ast.end!;
    const lineEnd = oldCode.indexOf("\n", end) === -1 ? oldCode.length : oldCode.indexOf("\n", end);
    const rest = oldCode.slice(end, lineEnd);
    if (!/^\s*(\/\/.*|\/\*.*\*\/\s*)?$/.test(rest)) return { reason: `its place in the old version (line ${target.after.ast.loc!.end.line}) shares a line with other code` };
    return { offset: lineEnd, text: `\n${reindent(indentOf(oldCode, target.after.ast.start!))}`, renamed };
  }
  if (target.before !== null) {
    const begin = lineStart(oldCode, target.before.ast.start!);
    if (oldCode.slice(begin, target.before.ast.start!).trim() !== "") return { reason: `its place in the old version (line ${target.before.ast.loc!.start.line}) shares a line with other code` };
    return { offset: begin, text: `${reindent(indentOf(oldCode, target.before.ast.start!))}\n`, renamed };
  }
  // An empty block: after its opening brace, one level deeper than the brace's line.
  const open = target.container.ast.start!;
  const unit = /\n([ \t]+)\S/.exec(oldCode)?.[1] ?? "  ";
  const braceLineEnd = oldCode.indexOf("\n", open);
  if (braceLineEnd === -1 || oldCode.slice(open + 1, braceLineEnd).trim() !== "") return { reason: "its place in the old version is an empty block written on one line" };
  return { offset: braceLineEnd, text: `\n${reindent(indentOf(oldCode, open) + unit)}`, renamed };
}
