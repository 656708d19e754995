// The real-history propagation corpus: cases built from the git histories of public JavaScript/TypeScript
// ML code, with the ground truth known by construction. The sources are not part of this repository:
// put bare clones of the repositories below under one folder and point FLOR_PROPAGATION_REPOS at it
// (default /work/.mirror), laid out as <folder>/<owner>+<name>/repo or <folder>/<owner>+<name>.git, e.g.
//   git clone --bare https://github.com/tensorflow/tfjs-examples "$FLOR_PROPAGATION_REPOS/tensorflow+tfjs-examples.git"
// Each repository is read at the commit pinned below, so every run builds the same cases.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Node } from "@babel/types";
import { parseSource } from "../src/propagate/parse-source.js";

export const HISTORIES: { repo: string; commit: string; files: RegExp; skip?: RegExp }[] = [
  { repo: "tensorflow/tfjs-examples", commit: "0521725666e4504948eed00fe372b92510cc74f9", files: /\.(js|ts)$/, skip: /ui\.js$/ },
  { repo: "BrainJS/brain.js", commit: "7c9db32d9c3894ae494e6497eb7b7a9ff28a6999", files: /^src\/.*\.(js|ts)$/ },
  { repo: "cazala/synaptic", commit: "c1dbc3fd7a48cda63ed56b7d3e4121f20446ef41", files: /^src\/.*\.js$/ },
  { repo: "karpathy/convnetjs", commit: "4c3358a315b4d71f31a0d532eb5d1700e9e592ee", files: /^(src|demo)\/.*\.js$/ },
  { repo: "ml5js/ml5-library", commit: "f80f95aa6b31191ab7e79ff466e8506f5e48a172", files: /^src\/.*\.(js|ts)$/ },
  { repo: "tensorflow/tfjs-models", commit: "18a73420e555a3c1948209ebfa807c7086c7ff0c", files: /\.(js|ts)$/ },
];
const EXCLUDED =
  /(^|\/)(node_modules|dist|build|vendor|test|tests|__tests__|demos?\/lib)\/|[._-](test|spec|min|d)\.[jt]s$|(^|\/)(karma|webpack|rollup|gulpfile|jest)[^/]*$/;

export const FLOR_IMPORT = 'import { flor } from "flordb";';

export type Family = "leave-in" | "leave-out" | "wrap";

export interface CorpusCase {
  id: string;
  family: Family;
  /** How much the file changed between the two versions: "small" (< 5 % of lines), "medium" (< 25 %), "large". */
  difficulty: "small" | "medium" | "large";
  filename: string;
  name: string;
  newCode: string;
  oldCode: string;
  expected: string;
  /** The lines of `newCode` that the base of the three-way baseline lacks (leave-in, leave-out) or has unwrapped (wrap). */
  baseCode: string;
}

/** Where the bare clone of `repo` is, or null. */
export function repositoryDir(root: string, repo: string): string | null {
  const key = repo.replace("/", "+");
  for (const dir of [path.join(root, key, "repo"), path.join(root, `${key}.git`), path.join(root, key)])
    if (existsSync(path.join(dir, "HEAD"))) return dir;
  return null;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function git(dir: string, args: string[], input?: string): Buffer {
  return execFileSync("git", ["--git-dir", dir, ...args], { maxBuffer: 1 << 30, ...(input === undefined ? {} : { input }) });
}

/** The contents of many `commit:path` objects with one `git cat-file --batch`. */
function readBlobs(dir: string, specs: string[]): (string | null)[] {
  const out = git(dir, ["cat-file", "--batch"], `${specs.join("\n")}\n`);
  const result: (string | null)[] = [];
  let at = 0;
  for (let i = 0; i < specs.length; i++) {
    const headerEnd = out.indexOf(10, at);
    const header = out.subarray(at, headerEnd).toString();
    if (header.endsWith("missing")) {
      result.push(null);
      at = headerEnd + 1;
      continue;
    }
    const size = Number(header.split(" ")[2]);
    result.push(out.subarray(headerEnd + 1, headerEnd + 1 + size).toString("utf8"));
    at = headerEnd + 1 + size + 1;
  }
  return result;
}

/** Distinct versions of a file, newest first (at most `limit`, spread over its history). */
function versionsOf(dir: string, commit: string, file: string, limit: number): string[] {
  const commits = git(dir, ["log", "--no-renames", "--format=%H", commit, "--", file]).toString().trim().split("\n").filter(Boolean);
  const blobs = readBlobs(
    dir,
    commits.map((c) => `${c}:${file}`),
  );
  const distinct: string[] = [];
  for (const blob of blobs) if (blob !== null && blob !== distinct.at(-1) && !distinct.includes(blob)) distinct.push(blob);
  if (distinct.length <= limit) return distinct;
  return Array.from({ length: limit }, (_, i) => distinct[Math.round((i * (distinct.length - 1)) / (limit - 1))]!);
}

/** The share of lines that differ between two texts (by a longest common subsequence of lines). */
function changedShare(a: string[], b: string[]): number {
  // Lines common to both at the start and end are cheap to skip; the middle gets a real LCS.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length * y.length > 4_000_000) return 1;
  let previous = new Uint16Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    const row = new Uint16Array(y.length + 1);
    for (let j = 1; j <= y.length; j++) row[j] = x[i - 1] === y[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!);
    previous = row;
  }
  const common = start + (a.length - endA) + previous[y.length]!;
  return 1 - (2 * common) / (a.length + b.length);
}

interface Candidate {
  /** First and last line (0-based) of the statement. */
  first: number;
  last: number;
  text: string;
  /** For leave-in: what the new statement logs. */
  logged: { name: string; value: string } | null;
  /** For leave-out and wrap: the statement with its value wrapped in flor.log. */
  wrapped: { name: string; lines: string[] } | null;
}

function statementLists(root: Node): Node[][] {
  const lists: Node[][] = [];
  const visit = (node: Node): void => {
    const record = node as unknown as Record<string, unknown>;
    if (node.type === "Program" || node.type === "BlockStatement" || node.type === "StaticBlock") lists.push(record["body"] as Node[]);
    if (node.type === "SwitchCase") lists.push(node.consequent);
    for (const [key, field] of Object.entries(record)) {
      if (key === "loc" || key.endsWith("Comments") || key === "tokens") continue;
      for (const item of Array.isArray(field) ? field : [field])
        if (item !== null && typeof item === "object" && typeof (item as { type?: unknown }).type === "string") visit(item as Node);
    }
  };
  visit(root);
  return lists;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The statements that stand on lines of their own, with what each family would do with them. */
function candidates(code: string, filename: string): Candidate[] {
  const ast = parseSource(code, filename);
  const lines = code.split("\n");
  const found: Candidate[] = [];
  for (const list of statementLists(ast.program)) {
    for (const statement of list) {
      const first = statement.loc!.start.line - 1;
      const last = statement.loc!.end.line - 1;
      if (last - first > 4) continue;
      if (lines[first]!.slice(0, statement.loc!.start.column).trim() !== "") continue;
      if (lines[last]!.slice(statement.loc!.end.column).trim() !== "") continue;
      const text = lines.slice(first, last + 1).join("\n");
      const wrap = (expr: Node, name: string): { name: string; lines: string[] } => {
        const startLine = expr.loc!.start.line - 1;
        const endLine = expr.loc!.end.line - 1;
        const copy = lines.slice(first, last + 1);
        const a = startLine - first;
        const b = endLine - first;
        if (a === b) {
          const l = copy[a]!;
          copy[a] =
            `${l.slice(0, expr.loc!.start.column)}flor.log("${name}", ${l.slice(expr.loc!.start.column, expr.loc!.end.column)})${l.slice(expr.loc!.end.column)}`;
        } else {
          copy[b] = `${copy[b]!.slice(0, expr.loc!.end.column)})${copy[b]!.slice(expr.loc!.end.column)}`;
          copy[a] = `${copy[a]!.slice(0, expr.loc!.start.column)}flor.log("${name}", ${copy[a]!.slice(expr.loc!.start.column)}`;
        }
        return { name, lines: copy };
      };
      let logged: Candidate["logged"] = null;
      let wrapped: Candidate["wrapped"] = null;
      if (statement.type === "VariableDeclaration" && statement.declarations.length === 1) {
        const d = statement.declarations[0]!;
        if (d.id.type === "Identifier" && d.init) {
          logged = { name: d.id.name, value: d.id.name };
          wrapped = wrap(d.init, d.id.name);
        }
      } else if (statement.type === "ExpressionStatement") {
        const e = statement.expression;
        if (e.type === "AssignmentExpression") {
          const target = code.slice(e.left.start!, e.left.end!);
          if (e.left.type === "Identifier" || (e.left.type === "MemberExpression" && !e.left.computed && /^[\w$.]+$/.test(target))) {
            const name = target.replace(/^this\./, "");
            logged = { name, value: target };
            wrapped = wrap(e.right, name);
          }
        } else if (e.type === "UpdateExpression" && e.argument.type === "Identifier") {
          logged = { name: e.argument.name, value: e.argument.name };
        } else if (e.type === "CallExpression" || e.type === "AwaitExpression") {
          const call = e.type === "AwaitExpression" ? e.argument : e;
          const callee = call.type === "CallExpression" ? call.callee : null;
          const name =
            callee?.type === "Identifier"
              ? callee.name
              : callee?.type === "MemberExpression" && callee.property.type === "Identifier"
                ? callee.property.name
                : null;
          if (name !== null && IDENTIFIER.test(name)) wrapped = wrap(e, name);
        }
      } else if (statement.type === "ReturnStatement" && statement.argument) {
        wrapped = wrap(statement.argument, "returned");
      }
      if (logged !== null || wrapped !== null) found.push({ first, last, text, logged, wrapped });
    }
  }
  return found;
}

/** Lines `first..last` of `text` occur exactly once, as whole lines (up to indentation). */
function uniqueAt(lines: string[], block: string[]): number | null {
  const trimmed = block.map((l) => l.trim());
  let at: number | null = null;
  for (let i = 0; i + trimmed.length <= lines.length; i++) {
    if (trimmed.every((l, k) => lines[i + k]!.trim() === l)) {
      if (at !== null) return null;
      at = i;
    }
  }
  return at;
}

function indentOf(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

function reindent(block: string[], from: string, to: string): string[] {
  return block.map((l) => (l.startsWith(from) ? to + l.slice(from.length) : l));
}

function withImport(code: string): string {
  return `${FLOR_IMPORT}\n${code}`;
}

/**
 * Builds the corpus from the histories present under `root`: per file, pairs of a newer and an older
 * version at different distances; per pair, statements that stand unchanged in both. Returns the cases
 * and the repositories that were missing.
 */
export function buildCorpus(root: string, perFamily: number): { cases: CorpusCase[]; missing: string[]; sources: string[] } {
  const rand = random(20);
  type Entry = { family: Family; difficulty: CorpusCase["difficulty"]; make: () => CorpusCase };
  const pool: Entry[] = [];
  const missing: string[] = [];
  const sources: string[] = [];
  for (const history of HISTORIES) {
    const dir = repositoryDir(root, history.repo);
    if (dir === null) {
      missing.push(history.repo);
      continue;
    }
    try {
      git(dir, ["cat-file", "-e", `${history.commit}^{commit}`]);
    } catch {
      missing.push(`${history.repo}@${history.commit.slice(0, 10)}`);
      continue;
    }
    sources.push(`${history.repo}@${history.commit.slice(0, 10)}`);
    const counts = new Map<string, number>();
    for (const file of git(dir, ["log", "--no-renames", "--format=", "--name-only", history.commit]).toString().split("\n")) {
      if (file && history.files.test(file) && !EXCLUDED.test(file) && !history.skip?.test(file))
        counts.set(file, (counts.get(file) ?? 0) + 1);
    }
    const files = [...counts].filter(([, n]) => n >= 3).map(([f]) => f);
    for (const file of files.sort()) {
      const versions = versionsOf(dir, history.commit, file, 8);
      const filename = file.endsWith(".ts") ? "train.ts" : "train.js";
      for (let n = 0; n < versions.length - 1; n++) {
        for (let o = n + 1; o < versions.length; o++) {
          if (rand() > 0.5) continue;
          const newSource = versions[n]!;
          const oldSource = versions[o]!;
          if (newSource.length > 60_000 || oldSource.length > 60_000) continue;
          let newCandidates: Candidate[];
          try {
            newCandidates = candidates(newSource, filename);
            parseSource(oldSource, filename);
          } catch {
            continue;
          }
          const newLines = newSource.split("\n");
          const oldLines = oldSource.split("\n");
          const share = changedShare(newLines, oldLines);
          const difficulty = share < 0.05 ? "small" : share < 0.25 ? "medium" : "large";
          // At most two statements per pair of versions and family, so that no file dominates.
          const taken: Record<Family, number> = { "leave-in": 0, "leave-out": 0, wrap: 0 };
          for (const candidate of shuffle(newCandidates, rand)) {
            const block = newLines.slice(candidate.first, candidate.last + 1);
            if (uniqueAt(newLines, block) === null) continue;
            const oldAt = uniqueAt(oldLines, block);
            if (oldAt === null) continue;
            const oldIndent = indentOf(oldLines[oldAt]!);
            const newIndent = indentOf(newLines[candidate.first]!);
            const id = `${history.repo}:${file}:${n}-${o}:${candidate.first + 1}`;
            const base = { id, difficulty, filename } as const;
            const before = (): string[] => newLines.slice(0, candidate.first);
            const after = (): string[] => newLines.slice(candidate.last + 1);
            const oldBefore = (): string[] => oldLines.slice(0, oldAt);
            const oldAfter = (): string[] => oldLines.slice(oldAt + block.length);
            const logged = candidate.logged;
            if (logged !== null && taken["leave-in"] < 2) {
              taken["leave-in"]++;
              const log = `flor.log("${logged.name}", ${logged.value});`;
              pool.push({
                family: "leave-in",
                difficulty,
                make: () => ({
                  ...base,
                  id: `leave-in:${id}`,
                  family: "leave-in",
                  name: logged.name,
                  newCode: withImport([...before(), ...block, newIndent + log, ...after()].join("\n")),
                  oldCode: withImport(oldSource),
                  expected: withImport(
                    [...oldBefore(), ...oldLines.slice(oldAt, oldAt + block.length), oldIndent + log, ...oldAfter()].join("\n"),
                  ),
                  baseCode: withImport(newSource),
                }),
              });
            }
            const wrapped = candidate.wrapped;
            if (wrapped === null) continue;
            const newCode = (): string => withImport([...before(), ...wrapped.lines, ...after()].join("\n"));
            const expected = (): string =>
              withImport([...oldBefore(), ...reindent(wrapped.lines, newIndent, oldIndent), ...oldAfter()].join("\n"));
            if (taken["leave-out"] < 2) {
              taken["leave-out"]++;
              pool.push({
                family: "leave-out",
                difficulty,
                make: () => ({
                  ...base,
                  id: `leave-out:${id}`,
                  family: "leave-out",
                  name: wrapped.name,
                  newCode: newCode(),
                  oldCode: withImport([...oldBefore(), ...oldAfter()].join("\n")),
                  expected: expected(),
                  baseCode: withImport([...before(), ...after()].join("\n")),
                }),
              });
            }
            if (taken.wrap < 1) {
              taken.wrap++;
              pool.push({
                family: "wrap",
                difficulty,
                make: () => ({
                  ...base,
                  id: `wrap:${id}`,
                  family: "wrap",
                  name: wrapped.name,
                  newCode: newCode(),
                  oldCode: withImport(oldSource),
                  expected: expected(),
                  baseCode: withImport(newSource),
                }),
              });
            }
          }
        }
      }
    }
  }
  // Sample each family evenly over the difficulties, deterministically.
  const cases: CorpusCase[] = [];
  for (const family of ["leave-in", "leave-out", "wrap"] as const) {
    const wanted = family === "wrap" ? Math.round(perFamily / 2) : perFamily;
    const buckets = (["small", "medium", "large"] as const).map((d) =>
      shuffle(
        pool.filter((e) => e.family === family && e.difficulty === d),
        rand,
      ),
    );
    const chosen: CorpusCase[] = [];
    for (let i = 0; chosen.length < wanted && buckets.some((b) => i < b.length); i++) {
      for (const bucket of buckets) {
        if (i >= bucket.length || chosen.length >= wanted) continue;
        const made = bucket[i]!.make();
        // Deleting a statement can break an old version (an `export { x }` of the name it declared).
        if (parses(made.newCode, made.filename) && parses(made.oldCode, made.filename) && parses(made.expected, made.filename))
          chosen.push(made);
      }
    }
    cases.push(...chosen);
  }
  return { cases, missing, sources };
}

function parses(code: string, filename: string): boolean {
  try {
    parseSource(code, filename);
    return true;
  } catch {
    return false;
  }
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
