import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { FlorError } from "../errors.js";
import { SNAPSHOT_EXCLUSIONS, warnAboutUnignoredFiles } from "./snapshot-filter.js";

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

const IDENTITY = {
  GIT_AUTHOR_NAME: "flor",
  GIT_AUTHOR_EMAIL: "flor@localhost",
  GIT_COMMITTER_NAME: "flor",
  GIT_COMMITTER_EMAIL: "flor@localhost",
};

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
  const git = (args: string[], env?: NodeJS.ProcessEnv): string =>
    execFileSync("git", args, { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

  let gitDir: string;
  let commonDir: string;
  try {
    [gitDir = "", commonDir = ""] = git(["rev-parse", "--absolute-git-dir", "--git-common-dir"]).split("\n");
  } catch (error) {
    throw new FlorError(`cannot read the git repository at ${root}: ${stderrOf(error)}`);
  }
  excludeFlorDirectory(path.resolve(root, commonDir));

  let head: string | null = null;
  let headTree: string | null = null;
  let headDate: string | null = null;
  try {
    [head = "", headTree = "", headDate = ""] = git(["show", "-s", "--format=%H%n%T%n%ct", "HEAD"]).split("\n");
  } catch {
    // A repository without commits: the snapshot becomes a root commit.
  }

  const index = path.join(gitDir, `flor-index-${process.pid}-${Date.now()}`);
  try {
    const userIndex = path.join(gitDir, "index");
    if (existsSync(userIndex)) {
      copyFileSync(userIndex, index);
      // Keep the index's mtime: git trusts cached file stats only when they are older than the index
      // file, so a fresh mtime would hide same-size edits made in the second the index was written.
      const { atime, mtime } = statSync(userIndex);
      utimesSync(index, atime, mtime);
    }
    const env = { GIT_INDEX_FILE: index };
    // Dependency folders stay out even when not ignored; a one-time warning names what to ignore (snapshot-filter.ts).
    warnAboutUnignoredFiles(root);
    git(["add", "--all", "--", ".", ...SNAPSHOT_EXCLUSIONS], env);
    const tree = git(["write-tree"], env);
    let vid: string;
    if (head !== null && tree === headTree) {
      vid = head;
    } else {
      const date = `@${headDate ?? 0} +0000`;
      vid = git(["commit-tree", tree, ...(head === null ? [] : ["-p", head]), "-m", "flor: snapshot of the working tree"], {
        ...IDENTITY,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      });
    }
    git(["update-ref", `${VERSION_REF_PREFIX}${vid}`, vid]);
    return { vid, head, dirty: vid !== head };
  } catch (error) {
    throw new FlorError(`cannot snapshot the working tree of ${root}: ${stderrOf(error)}`);
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

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr;
  return (typeof stderr === "string" && stderr.trim() !== "" ? stderr : (error as Error).message).trim();
}
