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
  const wanted = new Set(names);
  const found = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue = [path.join(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    for (const match of code.matchAll(RELATIVE_IMPORT)) {
      const target = resolveImport(path.dirname(file), match[1]!);
      if (target !== null && target.startsWith(root + path.sep) && !target.includes(`${path.sep}node_modules${path.sep}`)) queue.push(target);
    }
    if (![...wanted].some((name) => code.includes(name))) continue;
    let logged: Set<string>;
    try {
      logged = logNames(parseSource(code, file));
    } catch {
      continue; // a file the working tree cannot parse logs nothing replay could use
    }
    const hits = [...wanted].filter((name) => logged.has(name));
    if (hits.length > 0) found.set(path.relative(root, file).split(path.sep).join("/"), hits);
  }
  return found;
}

/** `./model.js` written in TypeScript sources means `./model.ts`, as TypeScript and tsx resolve it. */
function resolveImport(dir: string, specifier: string): string | null {
  const base = path.resolve(dir, specifier);
  const stem = base.replace(/\.[mc]?js$/, "");
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, `${base}.ts`, `${base}.js`, `${base}.mjs`, path.join(base, "index.ts"), path.join(base, "index.js")];
  for (const candidate of candidates) if (SOURCE.test(candidate) && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return null;
}

function logNames(root: Node): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (typeof node !== "object" || node === null || typeof (node as Node).type !== "string") continue;
    const name = florLogName(node as Node);
    if (name !== null) names.add(name);
    for (const [key, value] of Object.entries(node)) if (key !== "loc" && typeof value === "object") stack.push(value);
  }
  return names;
}
