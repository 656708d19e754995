import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseSource } from "../propagate/parse-source.js";
import { florLogName } from "../propagate/flor-calls.js";
import type { Node } from "@babel/types";

const SOURCE = /\.(?:[mc]?[jt]s|tsx|jsx)$/;
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

/**
 * The files of the working tree that log each of `names` with `flor.log`: the entry script and the
 * modules it imports with relative paths, transitively. Returns repository-relative path → names.
 */
export function filesLogging(root: string, entry: string, names: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [file, statements] of logStatements(root, entry, names)) {
    const hits = [...new Set(statements.map((s) => s.name))];
    if (hits.length > 0) found.set(file, hits);
  }
  return found;
}

/**
 * Every `flor.log("name", ...)` in the entry script and the modules it imports (only those of `names`,
 * when given): repository-relative path → the names and the lines where they are logged.
 */
export function logStatements(
  root: string,
  entry: string,
  names: readonly string[] | null = null,
): Map<string, { name: string; line: number }[]> {
  const wanted = names === null ? null : new Set(names);
  const found = new Map<string, { name: string; line: number }[]>();
  const seen = new Set<string>();
  const queue = [path.join(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    for (const match of code.matchAll(RELATIVE_IMPORT)) {
      const target = resolveImport(path.dirname(file), match[1]!);
      if (target?.startsWith(root + path.sep) && !target.includes(`${path.sep}node_modules${path.sep}`)) queue.push(target);
    }
    if (!code.includes("flor.log") || (wanted !== null && ![...wanted].some((name) => code.includes(name)))) continue;
    let logged: { name: string; line: number }[];
    try {
      logged = logCalls(parseSource(code, file));
    } catch {
      continue; // a file the working tree cannot parse logs nothing replay could use
    }
    const hits = logged.filter(({ name }) => wanted === null || wanted.has(name));
    if (hits.length > 0) found.set(path.relative(root, file).split(path.sep).join("/"), hits);
  }
  return found;
}

/**
 * The working tree's sources of the entry script and the modules it imports with relative paths,
 * transitively: repository-relative path → code. A statement's loop level follows calls through them.
 */
export function moduleSources(root: string, entry: string): Map<string, string> {
  const sources = new Map<string, string>();
  const queue = [path.join(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    const relative = path.relative(root, file).split(path.sep).join("/");
    if (sources.has(relative) || !existsSync(file)) continue;
    const code = readFileSync(file, "utf8");
    sources.set(relative, code);
    for (const match of code.matchAll(RELATIVE_IMPORT)) {
      const target = resolveImport(path.dirname(file), match[1]!);
      if (target?.startsWith(root + path.sep) && !target.includes(`${path.sep}node_modules${path.sep}`)) queue.push(target);
    }
  }
  return sources;
}

/** `./model.js` written in TypeScript sources means `./model.ts`, as TypeScript and tsx resolve it. */
function resolveImport(dir: string, specifier: string): string | null {
  const base = path.resolve(dir, specifier);
  const stem = base.replace(/\.[mc]?js$/, "");
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    `${base}.ts`,
    `${base}.js`,
    `${base}.mjs`,
    path.join(base, "index.ts"),
    path.join(base, "index.js"),
  ];
  for (const candidate of candidates) if (SOURCE.test(candidate) && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return null;
}

function logCalls(root: Node): { name: string; line: number }[] {
  const calls: { name: string; line: number }[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (typeof node !== "object" || node === null || typeof (node as Node).type !== "string") continue;
    const name = florLogName(node as Node);
    if (name !== null) calls.push({ name, line: (node as Node).loc?.start.line ?? 0 });
    for (const [key, value] of Object.entries(node)) if (key !== "loc" && typeof value === "object") stack.push(value);
  }
  return calls;
}
