import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";
import {
  addWorkingTree,
  commitTree,
  GitError,
  headCommit,
  type RepositoryDirectories,
  repositoryDirectories,
  updateRef,
  writeTree,
} from "./git.js";
import { DEPENDENCY_FOLDERS, warnAboutUnignoredFiles } from "./snapshot-filter.js";

/** Refs that keep every recorded code version alive, whatever happens to the user's branches. */
export const VERSION_REF_PREFIX = "refs/flor/versions/";

export interface Snapshot {
  /** The commit whose tree is exactly the working tree that ran. */
  vid: string;
  /** The user's HEAD commit when the run started (null in a repository without commits). */
  head: string | null;
  /** True when the working tree differed from HEAD, so `vid` is a commit of FlorDB's own. */
  dirty: boolean;
}

/** Who FlorDB's snapshot commits are by; `versions` tells them from the user's commits by it. */
export const SNAPSHOT_AUTHOR = { name: "flor", email: "flor@localhost" };
export const SNAPSHOT_MESSAGE = "flor: snapshot of the working tree";

/**
 * Records the working tree of `root` (tracked and untracked files that are not ignored, committed or
 * not) as a commit under `refs/flor/versions/`, using git plumbing on a private copy of the index: the
 * user's branch, index and files are never touched. Synchronous because it must capture the tree before
 * the training script goes on (and possibly writes files).
 *
 * The snapshot commit's parent is HEAD and its dates are HEAD's, so the same tree on the same HEAD always
 * yields the same vid; a clean tree's vid is HEAD itself.
 */
export function snapshotWorkingTree(root: string): Snapshot {
  let directories: RepositoryDirectories;
  try {
    directories = repositoryDirectories(root);
  } catch (error) {
    throw new FlorError(`cannot read the git repository at ${root}: ${reason(error)}`);
  }
  excludeFlorDirectory(directories.commonDir);

  const index = path.join(directories.gitDir, `flor-index-${process.pid}-${Date.now()}`);
  try {
    const head = headCommit(root);
    const userIndex = path.join(directories.gitDir, "index");
    if (existsSync(userIndex)) {
      copyFileSync(userIndex, index);
      // Keep the index's mtime: git trusts cached file stats only when they are older than the index
      // file, so a fresh mtime would hide same-size edits made in the second the index was written.
      const { atime, mtime } = statSync(userIndex);
      utimesSync(index, atime, mtime);
    }
    // Dependency folders stay out even when not ignored; a one-time warning names what to ignore (snapshot-filter.ts).
    warnAboutUnignoredFiles(root);
    addWorkingTree(root, index, DEPENDENCY_FOLDERS);
    const tree = writeTree(root, index);
    const vid =
      head !== null && tree === head.tree
        ? head.id
        : commitTree(root, tree, head?.id ?? null, SNAPSHOT_MESSAGE, { ...SNAPSHOT_AUTHOR, date: `@${head?.committedAt ?? 0} +0000` });
    updateRef(root, `${VERSION_REF_PREFIX}${vid}`, vid);
    return { vid, head: head?.id ?? null, dirty: vid !== head?.id };
  } catch (error) {
    throw new FlorError(`cannot snapshot the working tree of ${root}: ${reason(error)}`);
  } finally {
    rmSync(index, { force: true });
  }
}

/** Keeps `.flor/` (journals, checkpoints, database) out of the user's commits and of snapshots. */
function excludeFlorDirectory(commonDir: string): void {
  const file = path.join(commonDir, "info", "exclude");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (current.split("\n").some((line) => line.trim() === "/.flor/")) return;
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, `${current === "" || current.endsWith("\n") ? "" : "\n"}/.flor/\n`);
}

/** Why git failed, without repeating where (the message says which repository). */
function reason(error: unknown): string {
  return error instanceof GitError ? error.detail : (error as Error).message;
}
