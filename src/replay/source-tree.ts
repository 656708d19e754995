import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";

/**
 * Writes the files of code version `vid` into a new temporary directory, with `patches` applied, and
 * never touches the user's checkout, index or branch: git reads the tree into a private index file and
 * checks it out under the temporary prefix. What git does not track but the script needs at run time
 * (data directories read by relative paths) is linked from the repository root.
 */
export function materializeVersion(root: string, vid: string, patches: Record<string, string>): string {
  // Inside the repository (under .flor/, which git ignores), so that what the script resolves by walking
  // up directories is what it resolved when it ran: node_modules, package.json "type", tsconfig.json.
  const trees = path.join(root, ".flor", "trees");
  mkdirSync(trees, { recursive: true });
  const dir = mkdtempSync(path.join(trees, `${vid.slice(0, 10)}-`));
  const index = path.join(dir, ".flor-index");
  try {
    // GIT_INDEX_FILE, not --index-output: read-tree would still lock the user's .git/index, which fails
    // when another worker (or the user's own git) holds it.
    const env = { ...process.env, GIT_INDEX_FILE: index };
    execFileSync("git", ["read-tree", vid], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("git", ["checkout-index", "-a", "-f", `--prefix=${dir}${path.sep}`], {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new FlorError(`cannot check out version ${vid.slice(0, 10)} of ${root}: ${stderr || (error as Error).message}`, {
      hint: "A worker needs the snapshots: git fetch <remote> 'refs/flor/*:refs/flor/*'",
    });
  }
  rmSync(index, { force: true });
  for (const [file, code] of Object.entries(patches)) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, code);
  }
  for (const entry of readdirSync(root)) {
    if (entry === ".git" || entry === ".flor" || existsSync(path.join(dir, entry))) continue;
    symlinkSync(path.join(root, entry), path.join(dir, entry));
  }
  return dir;
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
