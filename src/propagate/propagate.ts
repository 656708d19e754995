import { florBinding, florLogName } from "./flor-calls.js";
import { type Mapping, matchTrees } from "./gumtree.js";
import { describeLoops, loopContext } from "./loop-context.js";
import { matchNamedFunctions } from "./named-functions.js";
import { parseSource } from "./parse-source.js";
import { listStatement, type Piece, type Placed, Placer } from "./placer.js";
import { buildTree, type SyntaxTree, type TreeNode } from "./syntax-tree.js";

export interface Injected {
  name: string;
  /** Line of the `flor.log` call in the new version. */
  fromLine: number;
  /**
   * `statement`: a statement of the new version inserted whole (a `flor.log(...)` statement, or a new
   * statement that wraps a value in `flor.log`); `wrapped`: an expression the old version already
   * computes, wrapped in place in the same `flor.log` call.
   */
  form: "statement" | "wrapped";
  /** Lines it occupies in the patched old version (first and last; for `wrapped`, of the call). */
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
  /** Set when the old version logs it inside other loops than the new one does. */
  note?: string;
}

export interface PropagationReport {
  injected: Injected[];
  declined: Declined[];
  present: Present[];
  /** The new version's import of `flor`, added to an old module that had none, and its line there. */
  addedImport: { text: string; line: number } | null;
  /** The old source with the injected statements; byte-identical elsewhere. */
  code: string;
}

export interface PropagateOptions {
  /** Only these log names (default: every `flor.log` call of the new version). */
  names?: readonly string[];
  /** File name, for choosing the parser (default: a TypeScript file). */
  filename?: string;
}

/**
 * Propagates the `flor.log` calls of the newest version of a script into an old version: matches the
 * two syntax trees (GumTree); a call that is a statement of its own goes in the old block that matches
 * its block, right after the counterpart of its nearest matched earlier sibling (or before that of the
 * next), with variables renamed as the versions renamed them. A call inside a statement
 * (`const x = flor.log("x", expr)`, `return flor.log(...)`) wraps the same expression of the old
 * version's counterpart of that statement, or, when the statement is new, comes with it. Every call is
 * accounted for: injected, present (the old version logs that name in the same loops), or declined
 * with the reason whenever propagation cannot be sure.
 */
export function propagate(newCode: string, oldCode: string, options: PropagateOptions = {}): PropagationReport {
  const filename = options.filename ?? "script.ts";
  const hashes = new Map<string, number>();
  const newFile = parseSource(newCode, filename);
  const oldFile = parseSource(oldCode, filename);
  const newTree = buildTree(newFile, hashes);
  const oldTree = buildTree(oldFile, hashes);
  const mapping = matchTrees(newTree, oldTree);
  matchNamedFunctions(newTree, oldTree, mapping);
  const florImport = florBinding(newFile.program);
  const florAtTop = florBinding(oldFile.program) !== null ? "bound" : florImport !== null ? "carried" : "missing";
  const placer = new Placer({ newTree, oldTree, newFile, mapping, renames: renameVotes(newTree, mapping), newCode, oldCode, florAtTop });
  const wanted = options.names === undefined ? null : new Set(options.names);

  const report: PropagationReport = { injected: [], declined: [], present: [], addedImport: null, code: oldCode };
  const pieces: Piece[] = [];
  const entries: { node: TreeNode; name: string; fromLine: number; form: Injected["form"]; placed: Placed; at: TreeNode }[] = [];
  const byStatement = new Map<TreeNode, Placed | string>();
  const oldLogs = oldTree.nodes.filter((n) => isFlorLog(n));
  let needsImport = false;
  for (const node of newTree.nodes) {
    if (!isFlorLog(node)) continue;
    const literal = florLogName(node.ast);
    const name = literal ?? newCode.slice(...argumentRange(node));
    if (wanted !== null && !wanted.has(name)) continue;
    const fromLine = node.ast.loc!.start.line;
    if (literal === null) {
      report.declined.push({
        name,
        fromLine,
        reason: "its name is not a string literal, so it cannot be matched with the old version's logs",
      });
      continue;
    }
    const sameName = oldLogs.filter((o) => florLogName(o.ast) === name);
    if (sameName.length > 0) {
      const loops = loopContext(newTree, node).join("\u0000");
      const same = sameName.find((o) => loopContext(oldTree, o).join("\u0000") === loops);
      if (same !== undefined) report.present.push({ name, fromLine, line: same.ast.loc!.start.line });
      else {
        // The old version has its own values of the name, at another level: injecting would log it twice.
        const other = sameName[0]!;
        report.present.push({
          name,
          fromLine,
          line: other.ast.loc!.start.line,
          note: `the old version logs it inside ${describeLoops(loopContext(oldTree, other))}, the new one inside ${describeLoops(loopContext(newTree, node))}`,
        });
      }
      continue;
    }
    const statement = listStatement(node);
    if (statement === null) {
      report.declined.push({ name, fromLine, reason: "it is not inside a statement of a block" });
      continue;
    }
    const ownStatement = statement.ast.type === "ExpressionStatement" && statement.ast.expression === node.ast;
    // Even a flor.log statement of its own may wrap a statement the old version has (`flor.log("n", xs.push(x))`).
    let placed: Placed | string | null = placer.wrapInPlace(node, statement);
    let form: Injected["form"] = "wrapped";
    if (placed === null) {
      form = "statement";
      const earlier = byStatement.get(statement);
      placed = earlier ?? placer.place(statement, ownStatement ? "log" : "statement");
      byStatement.set(statement, placed);
      if (earlier !== undefined && typeof earlier !== "string") {
        entries.push({ node, name, fromLine, form, placed: { ...earlier, pieces: [] }, at: statement });
        continue;
      }
    }
    if (typeof placed === "string") {
      report.declined.push({ name, fromLine, reason: placed });
      continue;
    }
    pieces.push(...placed.pieces);
    needsImport ||= placed.needsImport;
    entries.push({ node, name, fromLine, form, placed, at: form === "wrapped" ? node : statement });
  }
  if (needsImport && florImport !== null) {
    const piece = importPiece(placer, oldTree, newTree.of.get(florImport)!, newCode.slice(florImport.start!, florImport.end!));
    if (typeof piece === "string") {
      // Without the import nothing that uses flor can run: decline those instead.
      for (const entry of entries.splice(0)) report.declined.push({ name: entry.name, fromLine: entry.fromLine, reason: piece });
      pieces.length = 0;
    } else pieces.push(piece);
  }

  // Splice in order of offset (at one offset by rank, then in the new version's order), noting where each lands.
  pieces.sort((a, b) => a.offset - b.offset || a.rank - b.rank || a.node.id - b.node.id);
  const lines = new Map<TreeNode, { line: number; endLine: number }>();
  let code = "";
  let copied = 0;
  for (const piece of pieces) {
    code += oldCode.slice(copied, piece.offset);
    copied = piece.offset;
    const line = countLines(code) + (/^\r?\n/.test(piece.text) ? 1 : 0);
    code += piece.text;
    if (!lines.has(piece.node)) lines.set(piece.node, { line, endLine: line + countLines(piece.text.trim()) - 1 });
  }
  report.code = code + oldCode.slice(copied);
  if (needsImport && florImport !== null && lines.has(newTree.of.get(florImport)!)) {
    report.addedImport = { text: newCode.slice(florImport.start!, florImport.end!), line: lines.get(newTree.of.get(florImport)!)!.line };
  }
  for (const { node, name, fromLine, form, placed, at } of entries) {
    const where = form === "wrapped" ? lines.get(node)! : lines.get(at)!;
    const helpers = placed.helpers.map((helper) => ({ text: newCode.slice(helper.ast.start!, helper.ast.end!), ...lines.get(helper)! }));
    report.injected.push({ name, fromLine, form, ...where, renamed: placed.renamed, helpers });
  }
  report.injected.sort((a, b) => a.fromLine - b.fromLine);
  return report;
}

function isFlorLog(node: TreeNode): boolean {
  const ast = node.ast;
  if (ast.type !== "CallExpression") return false;
  const callee = ast.callee;
  return (
    callee.type === "MemberExpression" &&
    !callee.computed &&
    callee.object.type === "Identifier" &&
    callee.object.name === "flor" &&
    callee.property.type === "Identifier" &&
    callee.property.name === "log"
  );
}

function argumentRange(node: TreeNode): [number, number] {
  const first = (node.ast as { arguments: { start?: number | null; end?: number | null }[] }).arguments[0];
  return first === undefined ? [node.ast.start!, node.ast.end!] : [first.start!, first.end!];
}

/** The new version's `import { flor } ...` for an old module without it: after its last import, else at its top. */
function importPiece(placer: Placer, oldTree: SyntaxTree, statement: TreeNode, text: string): Piece | string {
  const program = oldTree.root.children.find((c) => c.label === "Program") ?? oldTree.root;
  const body = (program.ast as { body: { type: string }[] }).body;
  let last = -1;
  body.forEach((s, i) => {
    if (s.type === "ImportDeclaration") last = i;
  });
  const directives = program.children.filter((c) => c.label === "Directive");
  const after = last >= 0 ? oldTree.of.get(body[last] as never)! : (directives.at(-1) ?? null);
  const before = after === null && body.length > 0 ? oldTree.of.get(body[0] as never)! : null;
  const piece = placer.pieceAt({ container: program, index: last + 1, after, before }, text, statement);
  return typeof piece === "string" ? `the import of flor cannot be added to the old version: ${piece}` : piece;
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
