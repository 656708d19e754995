import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";
import { checkoutTree, GitError, objectId, presentCommits, repositoryPath } from "../versions/git.js";

/**
 * Writes the files of code version `vid` into a new temporary directory, with `patches` applied, and
 * never touches the user's checkout, index or branch (git checks the tree out through a private index).
 * What git does not track but the script needs at run time (data directories read by relative paths) is
 * linked from the repository root.
 */
export async function materializeVersion(root: string, vid: string, patches: Record<string, string>): Promise<string> {
  const commit = objectId(vid);
  // Inside the repository (under .flor/, which git ignores), so that what the script resolves by walking
  // up directories is what it resolved when it ran: node_modules, package.json "type", tsconfig.json.
  const trees = path.join(root, ".flor", "trees");
  mkdirSync(trees, { recursive: true });
  const dir = mkdtempSync(path.join(trees, `${vid.slice(0, 10)}-`));
  // Beside the tree, not in it: a version may track a file of any name.
  const index = `${dir}.index`;
  try {
    if (!(await presentCommits(root, [commit])).has(commit)) throw new FlorError("the commit is not in this clone");
    await checkoutTree(root, commit, dir, index);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new FlorError(
      `cannot check out version ${vid.slice(0, 10)} of ${root}: ${error instanceof GitError ? error.detail : (error as Error).message}`,
      { hint: "A worker needs the snapshots: git fetch <remote> 'refs/flor/*:refs/flor/*'" },
    );
  } finally {
    rmSync(index, { force: true });
  }
  for (const [file, code] of Object.entries(patches)) {
    const target = path.join(dir, repositoryPath(file));
    refuseOutside(dir, target);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, code);
  }
  for (const entry of readdirSync(root)) {
    if (entry === ".git" || entry === ".flor" || existsSync(path.join(dir, entry))) continue;
    symlinkSync(path.join(root, entry), path.join(dir, entry));
  }
  return dir;
}

/** A patch goes into the checked-out tree: never through a link the version tracks to somewhere else. */
function refuseOutside(dir: string, target: string): void {
  let existing = target;
  while (!lexists(existing)) existing = path.dirname(existing);
  const real = realpathSync(dir);
  let resolved: string | null = null;
  try {
    resolved = realpathSync(existing);
  } catch {
    // a dangling link: where it leads is not known to be inside
  }
  if (resolved === null || (resolved !== real && !resolved.startsWith(real + path.sep))) {
    throw new FlorError(`cannot patch ${path.relative(dir, target)}: the version links it out of the checked-out tree`);
  }
}

function lexists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
