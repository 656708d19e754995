import { spawn } from "node:child_process";
import { FlorError, FlorUsageError } from "../errors.js";
import { CONTROL_CHARACTERS } from "../text/control-characters.js";

/** Files and diffs larger than this are refused rather than held in memory and sent whole. */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

/** Only full commit ids (SHA-1, or SHA-256 repositories) reach git's command line: never an option, a range or a ref name. */
const FULL_VID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A recorded version whose commit this clone does not have (recorded elsewhere, or pruned). */
export class VersionMissingError extends FlorError {
  constructor(vid: string) {
    super(`version ${vid} is not in this clone of the repository`);
    this.name = "VersionMissingError";
  }
}

/**
 * A path inside the repository as git names it: relative, `/`-separated, no `.`/`..`/empty segments.
 * Anything else is refused, so a request can never name a file outside the tree it asks about.
 */
export function repositoryPath(file: string): string {
  if (file === "" || /[\0\n\r]/.test(file)) throw new FlorUsageError(`"${printable(file)}" is not a file path`);
  if (file.startsWith("/") || /^[A-Za-z]:/.test(file))
    throw new FlorUsageError(`"${printable(file)}" is absolute; give a path relative to the repository root`);
  if (file.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new FlorUsageError(`"${printable(file)}" is not a plain path inside the repository (no ".", ".." or empty parts)`);
  }
  return file;
}

/** The text of `file` in version `vid`; null when that version has no such file. */
export async function sourceAt(root: string, vid: string, file: string): Promise<string | null> {
  const commitId = fullVid(vid);
  const name = repositoryPath(file);
  const [commit = null, object = null] = await describeObjects(root, [`${commitId}^{commit}`, `${commitId}:${name}`]);
  if (commit === null) throw new VersionMissingError(vid);
  if (object === null) return null;
  if (object.type !== "blob")
    throw new FlorUsageError(
      `${name} is a ${object.type === "tree" ? "directory" : object.type} in version ${vid.slice(0, 10)}, not a file`,
    );
  if (object.size > MAX_SOURCE_BYTES)
    throw new FlorUsageError(`${name} is ${object.size} bytes in version ${vid.slice(0, 10)}; at most ${MAX_SOURCE_BYTES} are served`);
  const content = await git(root, ["cat-file", "blob", object.id]);
  if (content.includes(0)) throw new FlorUsageError(`${name} is a binary file in version ${vid.slice(0, 10)}`);
  return content.toString("utf8");
}

/** The unified diff from version `from` to `to` (of one file when `file` is given); "" when they do not differ. */
export async function diffBetween(root: string, from: string, to: string, file: string | null): Promise<string> {
  fullVid(from);
  fullVid(to);
  const name = file === null ? null : repositoryPath(file);
  const names = [`${from}^{commit}`, `${to}^{commit}`, ...(name === null ? [] : [`${from}:${name}`, `${to}:${name}`])];
  const [fromCommit = null, toCommit = null, inFrom = null, inTo = null] = await describeObjects(root, names);
  if (fromCommit === null) throw new VersionMissingError(from);
  if (toCommit === null) throw new VersionMissingError(to);
  if (name !== null && inFrom === null && inTo === null) throw new FlorUsageError(`${name} is in neither version`);
  // No external diff drivers or textconv filters (they run commands), no colour, fixed prefixes, and the
  // path taken literally rather than as a pathspec pattern.
  const args = [
    "-c",
    "core.quotePath=false",
    "--literal-pathspecs",
    "diff",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    from,
    to,
  ];
  const out = await git(root, name === null ? args : [...args, "--", name]).catch((error: unknown) => {
    if (error instanceof OutputTooLarge) throw new FlorUsageError(`the diff is larger than ${MAX_SOURCE_BYTES} bytes; ask for one file`);
    throw error;
  });
  return out.toString("utf8");
}

function fullVid(vid: string): string {
  if (!FULL_VID.test(vid)) throw new FlorUsageError(`"${printable(vid)}" is not a full commit id`);
  return vid;
}

interface GitObject {
  id: string;
  type: string;
  size: number;
}

/** Looks objects up by name with `git cat-file --batch-check`: names go through stdin, never the command line. */
async function describeObjects(root: string, names: readonly string[]): Promise<(GitObject | null)[]> {
  const out = (
    await git(root, ["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"], names.map((n) => `${n}\n`).join(""))
  ).toString("utf8");
  const lines = out.split("\n");
  return names.map((_, i) => {
    const match = /^([0-9a-f]+) (\w+) (\d+)$/.exec(lines[i] ?? "");
    return match === null ? null : { id: match[1]!, type: match[2]!, size: Number(match[3]) };
  });
}

class OutputTooLarge extends Error {}

/** Runs git in `root` without a shell; stdout as bytes, at most MAX_SOURCE_BYTES of them. */
function git(root: string, args: readonly string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd: root, stdio: "pipe" });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let tooLarge = false;
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SOURCE_BYTES) {
        tooLarge = true;
        child.kill();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (tooLarge) reject(new OutputTooLarge());
      else if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new FlorError(`git ${args.join(" ")} failed in ${root}: ${stderr.trim()}`));
    });
    // git may exit without reading its input; its exit code says why.
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, "?");
}
