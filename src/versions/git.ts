import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { FlorError, FlorUsageError } from "../errors.js";
import { CONTROL_CHARACTERS } from "../text/control-characters.js";

/*
 * The one place FlorDB runs git; nothing else spawns it.
 *
 * Plain child processes, not simple-git: the SDK's snapshot runs synchronously in the training process (the
 * first flor call must capture the tree before the script goes on), and simple-git is async-only, while the
 * server, the planner and the workers must not block their event loop. So both kinds of call share one
 * argument prefix, one environment, one result check and one retry here, and differ only in spawnSync
 * (the snapshot) versus spawn (everything else). simple-git would have been a second mechanism for half of
 * the calls, with its own argument handling to audit.
 *
 * What reaches git's command line is built here only, and every function checks what it is given: object
 * ids must be full hex (objectId), paths plain repository-relative ones (repositoryPath), passed after "--"
 * and taken literally; the rest is constants. Variable text (names to look up, messages) goes through stdin. No shell, no pager, no replace
 * objects (an id means its own content), no external diff, textconv or signature checks. The user's GIT_*
 * environment is dropped (but for where git is installed and which config files it reads), so a GIT_DIR,
 * GIT_INDEX_FILE or GIT_OBJECT_DIRECTORY inherited from a hook or a wrapper cannot point git elsewhere.
 */

/** A full object id (SHA-1, or SHA-256 repositories): never an option, a range or a ref name. */
const FULL_OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function isObjectId(text: string): boolean {
  return FULL_OBJECT_ID.test(text);
}

/** `text` as an object id; anything but a full lowercase hex id is refused. */
export function objectId(text: string): string {
  if (!isObjectId(text)) throw new FlorUsageError(`"${printable(text)}" is not a full commit id`);
  return text;
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

/** git ran and failed (after one retry): its own message, never read as an answer such as "no such file". */
export class GitError extends FlorError {
  /** What went wrong, in git's words. */
  readonly detail: string;

  constructor(command: string, root: string, detail: string) {
    const text = printable(detail, "\n");
    super(`git ${command} failed in ${root}: ${text}`);
    this.name = "GitError";
    this.detail = text;
  }
}

/** git's output went over the limit the caller set; the process was stopped. */
export class GitOutputTooLarge extends FlorError {
  constructor(readonly maxBytes: number) {
    super(`git's output is larger than ${maxBytes} bytes`);
    this.name = "GitOutputTooLarge";
  }
}

// ---------------------------------------------------------------------------------------------------
// Running git

/** A failed git is tried once more: another git process may hold a lock, or be repacking, for a moment. */
const RETRIES = 1;
const RETRY_DELAY_MS = 100;

/** Before every command: no pager, paths never pathspec patterns, object ids never replaced, paths unquoted. */
const PREFIX = ["--no-pager", "--literal-pathspecs", "--no-replace-objects", "-c", "core.quotePath=false"];
const PATTERN_PREFIX = PREFIX.filter((option) => option !== "--literal-pathspecs");

function prefixOf(call: Call): readonly string[] {
  return call.patterns ? PATTERN_PREFIX : PREFIX;
}

/** GIT_* variables kept: how git is installed and which config files it reads, as for the user's own git. */
const KEPT_ENVIRONMENT = new Set(["GIT_EXEC_PATH", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_GLOBAL"]);

interface Call {
  /** The subcommand and its arguments, built in this file from checked ids, checked paths and constants. */
  args: readonly string[];
  /** Only variables this file sets (a private index, an identity). */
  env?: Readonly<Record<string, string>>;
  input?: string;
  /** Exit statuses besides 0 that are an answer (such as "no such ref"), not a failure. */
  answers?: readonly number[];
  /** Stdout beyond this stops git with GitOutputTooLarge. */
  maxBytes?: number;
  /** The pathspecs in `args` are patterns built in this file from checked folder names (see `excludedFolders`). */
  patterns?: true;
}

/** Reads what git printed; throws a GitError when it shows git failed (then git is tried once more). */
type Read<T> = (out: Buffer, result: { status: number; stderr: string }) => T;

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  error: (Error & { code?: string }) | undefined;
  tooLarge: boolean;
}

function environment(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toUpperCase().startsWith("GIT_") || KEPT_ENVIRONMENT.has(name)) env[name] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: "0", ...extra };
}

/** null when git succeeded; otherwise the error to report (GitError is worth a retry, the others are not). */
function failureOf(root: string, call: Call, outcome: Outcome): Error | null {
  const command = call.args[0] ?? "";
  if (outcome.tooLarge) return new GitOutputTooLarge(call.maxBytes ?? 0);
  if (outcome.error?.code === "ENOENT")
    return new FlorError("git is not installed (or not on PATH); FlorDB records and reads code versions with it");
  if (outcome.error !== undefined) return new GitError(command, root, outcome.error.message);
  if (outcome.status === 0 || (outcome.status !== null && call.answers?.includes(outcome.status))) return null;
  const detail = outcome.stderr.trim() || (outcome.signal === null ? `exit code ${outcome.status}` : `killed by ${outcome.signal}`);
  return new GitError(command, root, detail);
}

/**
 * Runs git synchronously (the SDK's snapshot only) and reads its output with `read`. A failure, or output
 * `read` rejects with a GitError, is tried once more.
 */
function runSync<T>(root: string, call: Call, read: Read<T>): T {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync("git", [...prefixOf(call), ...call.args], {
      cwd: root,
      env: environment(call.env),
      input: call.input ?? "",
      maxBuffer: call.maxBytes ?? 64 * 1024 * 1024,
      stdio: "pipe",
    });
    const error = result.error as (Error & { code?: string }) | undefined;
    const stderr = result.stderr?.toString("utf8") ?? "";
    const tooLarge = error?.code === "ENOBUFS";
    const failure = failureOf(root, call, {
      status: result.status,
      signal: result.signal,
      stderr,
      error: tooLarge ? undefined : error,
      tooLarge,
    });
    const outcome = failure ?? attemptRead(read, result.stdout, result.status, stderr);
    if (!(outcome instanceof Error)) return outcome.value;
    if (!(outcome instanceof GitError) || attempt >= RETRIES) throw outcome;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_DELAY_MS);
  }
}

/** Runs git without blocking and reads its output with `read`; retried as runSync is. */
async function run<T>(root: string, call: Call, read: Read<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const { stdout, ...rest } = await spawnGit(root, call);
    const outcome = failureOf(root, call, rest) ?? attemptRead(read, stdout, rest.status, rest.stderr);
    if (!(outcome instanceof Error)) return outcome.value;
    if (!(outcome instanceof GitError) || attempt >= RETRIES) throw outcome;
    await delay(RETRY_DELAY_MS);
  }
}

function attemptRead<T>(read: Read<T>, stdout: Buffer, status: number | null, stderr: string): { value: T } | Error {
  try {
    return { value: read(stdout, { status: status ?? 0, stderr }) };
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
}

function spawnGit(root: string, call: Call): Promise<Outcome & { stdout: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn("git", [...prefixOf(call), ...call.args], { cwd: root, env: environment(call.env), stdio: "pipe" });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let tooLarge = false;
    let error: (Error & { code?: string }) | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (call.maxBytes !== undefined && size > call.maxBytes) {
        tooLarge = true;
        child.kill();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", (e) => {
      error = e;
    });
    child.on("close", (status, signal) => resolve({ status, signal, stdout: Buffer.concat(chunks), stderr, error, tooLarge }));
    // git may exit without reading its input; its exit status says why.
    child.stdin.on("error", () => {});
    child.stdin.end(call.input ?? "");
  });
}

/** Reads an object id git printed; anything else means git did not do what was asked. */
function printedId(root: string, command: string): (out: Buffer) => string {
  return (out) => {
    const text = out.toString("utf8").trim();
    if (!isObjectId(text)) throw new GitError(command, root, `expected an object id, got "${text.slice(0, 80)}"`);
    return text;
  };
}

const lines = (out: Buffer): string[] => out.toString("utf8").split("\n");
const nothing = (): void => undefined;

// ---------------------------------------------------------------------------------------------------
// Synchronous: the SDK's snapshot of the working tree

export interface RepositoryDirectories {
  /** The repository's git directory (a linked worktree's own one), absolute. */
  gitDir: string;
  /** The directory all worktrees share (info/exclude, refs), absolute. */
  commonDir: string;
}

export function repositoryDirectories(root: string): RepositoryDirectories {
  const [gitDir = "", commonDir = ""] = runSync(root, { args: ["rev-parse", "--absolute-git-dir", "--git-common-dir"] }, lines);
  return { gitDir, commonDir: path.resolve(root, commonDir) };
}

export interface HeadCommit {
  id: string;
  tree: string;
  /** The committer date as git stores it: seconds since the epoch. */
  committedAt: string;
}

/** The commit HEAD names; null in a repository without commits (an unborn branch). */
export function headCommit(root: string): HeadCommit | null {
  const head = runSync(root, { args: ["cat-file", "--batch"], input: "HEAD\n" }, (out, { stderr }) => {
    const text = out.toString("utf8");
    const newline = text.indexOf("\n");
    const header = text.slice(0, newline);
    if (header === "HEAD missing") return missing(root, "cat-file", stderr, null);
    const id = /^(\S+) commit \d+$/.exec(header)?.[1] ?? "";
    const fields = text.slice(newline + 1, text.indexOf("\n\n", newline));
    const tree = /^tree (\S+)$/m.exec(fields)?.[1] ?? "";
    const committedAt = /^committer .* (\d+) [+-]\d{4}$/m.exec(fields)?.[1];
    if (!isObjectId(id) || !isObjectId(tree) || committedAt === undefined)
      throw new GitError("cat-file", root, `cannot read HEAD's commit: "${header.slice(0, 80)}"`);
    return { id, tree, committedAt };
  });
  if (head !== null) return head;
  // "HEAD missing" is an unborn branch, or a commit gone from the repository: only the first is an answer.
  const unborn = { args: ["rev-parse", "--quiet", "--verify", "HEAD"], answers: [1] };
  return runSync(root, unborn, (out, { status }) => {
    if (status === 1) return null;
    throw new GitError("cat-file", root, `HEAD's commit ${out.toString("utf8").trim()} is missing from the repository`);
  });
}

/**
 * Stages the working tree (tracked and untracked files that are not ignored) into `index`, a private
 * index file: the user's index is never written.
 */
export function addWorkingTree(root: string, index: string, leaveOut: readonly string[] = []): void {
  runSync(
    root,
    { args: ["add", "--all", "--", ".", ...excludedFolders(leaveOut)], env: { GIT_INDEX_FILE: index }, patterns: true },
    nothing,
  );
}

/**
 * Pathspecs that leave folders of these names out at any depth (git prunes them while it walks the tree).
 * Names are plain folder paths (letters, digits, `.`, `_`, `-`, `/`): nothing in them is a pattern.
 */
function excludedFolders(folders: readonly string[]): string[] {
  return folders.map((folder) => {
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(folder) || folder.split("/").some((part) => part === "." || part === ".."))
      throw new FlorError(`not a folder name git can leave out: ${JSON.stringify(folder)}`);
    return `:(exclude,glob)**/${folder}/**`;
  });
}

/** Which of `paths` (repository-relative; a folder ends with `/`) git ignores. */
export function ignoredPaths(root: string, paths: readonly string[]): Set<string> {
  if (paths.length === 0) return new Set();
  const checked = paths.map((file) => (file.endsWith("/") ? `${repositoryPath(file.slice(0, -1))}/` : repositoryPath(file)));
  // Exit status 1: none of them is ignored. check-ignore refuses --literal-pathspecs, and takes its paths literally anyway.
  const out = runSync(root, { args: ["check-ignore", "--", ...checked], answers: [1], patterns: true }, (stdout) =>
    stdout.toString("utf8"),
  );
  return new Set(out.split("\n").filter((line) => line !== ""));
}

/** Untracked files that no ignore rule covers, outside folders named `leaveOut` (at any depth). */
export function untrackedFiles(root: string, leaveOut: readonly string[] = []): string[] {
  const out = runSync(
    root,
    { args: ["ls-files", "--others", "--exclude-standard", "-z", "--", ".", ...excludedFolders(leaveOut)], patterns: true },
    (stdout) => stdout.toString("utf8"),
  );
  return out.split("\0").filter((file) => file !== "");
}

/** The tree of the private index file `index`. */
export function writeTree(root: string, index: string): string {
  return runSync(root, { args: ["write-tree"], env: { GIT_INDEX_FILE: index } }, printedId(root, "write-tree"));
}

export interface Signature {
  name: string;
  email: string;
  /** A date git reads, such as `@1700000000 +0000`. */
  date: string;
}

/** A commit of `tree` with `message` (through stdin), made by `by` as both author and committer. */
export function commitTree(root: string, tree: string, parent: string | null, message: string, by: Signature): string {
  const call = {
    args: ["commit-tree", objectId(tree), ...(parent === null ? [] : ["-p", objectId(parent)])],
    input: message.endsWith("\n") ? message : `${message}\n`,
    env: {
      GIT_AUTHOR_NAME: by.name,
      GIT_AUTHOR_EMAIL: by.email,
      GIT_AUTHOR_DATE: by.date,
      GIT_COMMITTER_NAME: by.name,
      GIT_COMMITTER_EMAIL: by.email,
      GIT_COMMITTER_DATE: by.date,
    },
  };
  return runSync(root, call, printedId(root, "commit-tree"));
}

/** A ref FlorDB writes: under refs/, of word characters and dashes only. */
const REF_NAME = /^refs\/(?:[\w-]+\/)*[\w-]+$/;

export function updateRef(root: string, ref: string, id: string): void {
  if (!REF_NAME.test(ref)) throw new FlorUsageError(`"${printable(ref)}" is not a ref FlorDB writes`);
  runSync(root, { args: ["update-ref", "--no-deref", ref, objectId(id)] }, nothing);
}

// ---------------------------------------------------------------------------------------------------
// Asynchronous: reading recorded versions (CLI, server, planner, workers)

/** The commits among `ids` this clone has (a recorded version may have been recorded elsewhere, or pruned). */
export async function presentCommits(root: string, ids: readonly string[]): Promise<Set<string>> {
  const unique = new Set(ids.map(objectId));
  if (unique.size === 0) return new Set();
  const call = { args: ["cat-file", "--batch-check=%(objectname) %(objecttype)"], input: [...unique].map((id) => `${id}\n`).join("") };
  return run(root, call, (out, { stderr }) => {
    const present = new Set<string>();
    for (const line of lines(out)) {
      const [id = "", type] = line.split(" ");
      if (type === "commit" && unique.has(id)) present.add(id);
    }
    return present.size === unique.size ? present : missing(root, "cat-file", stderr, present);
  });
}

export interface TreeEntry {
  type: "blob" | "tree" | "commit";
  id: string;
  /** Bytes, for blobs. */
  size: number | null;
}

/**
 * The entries at `paths` in the tree of `commit`, which must be present. A path the tree does not have
 * has no entry; a git failure (a missing or corrupt tree object) throws, so it is never read as "no such file".
 */
export async function treeEntries(root: string, commit: string, paths: readonly string[]): Promise<Map<string, TreeEntry>> {
  const wanted = new Set(paths.map(repositoryPath));
  if (wanted.size === 0) return new Map();
  return run(root, { args: ["ls-tree", "-z", "--long", "--full-tree", objectId(commit), "--", ...wanted] }, (out) => {
    const entries = new Map<string, TreeEntry>();
    for (const record of out.toString("utf8").split("\0")) {
      if (record === "") continue;
      const match = /^\d+ (blob|tree|commit) ([0-9a-f]+) +(\d+|-|BAD)\t(.*)$/s.exec(record);
      if (match === null) throw new GitError("ls-tree", root, `unexpected output "${record.slice(0, 120)}"`);
      const [, type, id, size, name] = match as unknown as [string, TreeEntry["type"], string, string, string];
      // git prints BAD for the size of a blob it cannot read: the file exists, git failed.
      if (size === "BAD") throw new GitError("ls-tree", root, `cannot read object ${id} (${name} at ${commit})`);
      if (wanted.has(name)) entries.set(name, { type, id, size: size === "-" ? null : Number(size) });
    }
    return entries;
  });
}

/** The contents of blobs, read by one git. An id git does not have is a git failure: a tree named it. */
export async function readBlobs(root: string, ids: readonly string[], maxBytes?: number): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids.map(objectId))];
  // Room for the header line git writes before each blob.
  const objects = await batchObjects(root, unique, {
    mustExist: true,
    ...(maxBytes === undefined ? {} : { maxBytes: maxBytes + unique.length * 100 }),
  });
  const blobs = new Map<string, Buffer>();
  for (const id of unique) {
    const object = objects.get(id)!;
    if (object.type !== "blob") throw new GitError("cat-file", root, `object ${id} is a ${object.type}, not a blob`);
    blobs.set(id, object.content);
  }
  return blobs;
}

/**
 * The blobs at `paths` of `commits` (which must be present), read by one git: for each `commit:path`, its
 * content, or null when that path is not a file there (absent, a directory, a submodule). A git failure,
 * or an object a tree names that git cannot read, throws: it is never read as "no such file".
 */
export async function blobsAt(root: string, wanted: readonly { commit: string; path: string }[]): Promise<Map<string, Buffer | null>> {
  const names = [...new Set(wanted.map(({ commit, path: file }) => `${objectId(commit)}:${repositoryPath(file)}`))];
  const objects = await batchObjects(root, names);
  const blobs = new Map<string, Buffer | null>();
  for (const [name, object] of objects) blobs.set(name, object?.type === "blob" ? object.content : null);
  // git answers "missing" alike for a path a tree does not name and for an object it names but git cannot
  // read: the deepest tree on the path that git can read tells them apart.
  const missing = names.filter((name) => objects.get(name) === null);
  if (missing.length === 0) return blobs;
  const split = (name: string) => {
    const colon = name.indexOf(":");
    return { commit: name.slice(0, colon), parts: name.slice(colon + 1).split("/") };
  };
  // The trees on the path: the commit's root tree ("commit:"), then each directory.
  const ancestors = (name: string): string[] => {
    const { commit, parts } = split(name);
    return parts.map((_, i) => `${commit}:${parts.slice(0, i).join("/")}`);
  };
  const trees = await batchObjects(root, [...new Set(missing.flatMap(ancestors))]);
  for (const name of missing) {
    const chain = ancestors(name);
    const { commit, parts } = split(name);
    let deepest = chain.length - 1;
    while (deepest >= 0 && trees.get(chain[deepest]!)?.type !== "tree") deepest--;
    if (deepest < 0) throw new GitError("cat-file", root, `cannot read the tree of ${commit}`);
    // The next object on the path is named by a tree git can read, yet git cannot read it.
    const below = chain[deepest + 1] ?? name;
    const id = treeEntryIds(trees.get(chain[deepest]!)!.content, commit.length === 64 ? 32 : 20).get(parts[deepest]!);
    if (id !== undefined && (below === name || trees.get(below) === null))
      throw new GitError("cat-file", root, `cannot read object ${id} (${below.slice(commit.length + 1)} at ${commit})`);
  }
  return blobs;
}

/**
 * Objects by name (an id, or `commit:path`), read by one `git cat-file --batch`; null for a name git
 * answers "missing", unless `mustExist` (then that is git's failure, tried once more as any other).
 */
async function batchObjects(
  root: string,
  names: readonly string[],
  options: { mustExist?: boolean; maxBytes?: number } = {},
): Promise<Map<string, { type: string; content: Buffer } | null>> {
  if (names.length === 0) return new Map();
  const call = {
    args: ["cat-file", "--batch"],
    input: names.map((name) => `${name}\n`).join(""),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  };
  return run(root, call, (out, { stderr }) => {
    const objects = new Map<string, { type: string; content: Buffer } | null>();
    let at = 0;
    for (const name of names) {
      const newline = out.indexOf(0x0a, at);
      if (newline === -1) throw new GitError("cat-file", root, stderr.trim() || `no answer for ${name}`);
      const header = out.subarray(at, newline).toString("utf8");
      at = newline + 1;
      if (header === `${name} missing`) {
        if (options.mustExist === true)
          throw new GitError("cat-file", root, stderr.trim() || `object ${name} is missing from the repository`);
        objects.set(name, null);
        continue;
      }
      const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (match === null) throw new GitError("cat-file", root, stderr.trim() || header);
      const size = Number(match[2]);
      objects.set(name, { type: match[1]!, content: out.subarray(at, at + size) });
      at += size + 1;
    }
    return objects;
  });
}

/** The entries of a tree object (`<mode> <name>\0<binary id>` each): name → object id. */
function treeEntryIds(tree: Buffer, idBytes: number): Map<string, string> {
  const entries = new Map<string, string>();
  for (let at = 0; at < tree.length; ) {
    const space = tree.indexOf(0x20, at);
    const nul = tree.indexOf(0, space);
    if (space < 0 || nul < 0) break;
    entries.set(tree.subarray(space + 1, nul).toString("utf8"), tree.subarray(nul + 1, nul + 1 + idBytes).toString("hex"));
    at = nul + 1 + idBytes;
  }
  return entries;
}

/** The unified diff from `from` to `to` (of one path when given), with fixed prefixes and git's own diff only. */
export async function diff(root: string, from: string, to: string, file: string | null, maxBytes: number): Promise<Buffer> {
  const args = ["diff", "--no-ext-diff", "--no-textconv", "--no-color", "--src-prefix=a/", "--dst-prefix=b/", objectId(from), objectId(to)];
  return run(root, { args: [...args, "--", ...(file === null ? [] : [repositoryPath(file)])], maxBytes }, (out) => out);
}

export interface CommitDescription {
  parents: string[];
  subject: string;
  /** Committer date, ISO-8601. */
  committedAt: string;
  author: string;
}

/** Describes the commits among `ids` that this clone has, with two gits however many there are. */
export async function describeCommits(root: string, ids: readonly string[]): Promise<Map<string, CommitDescription>> {
  const present = await presentCommits(root, ids);
  if (present.size === 0) return new Map();
  // No signature checks (they run gpg) and no mailmap: the author as recorded tells FlorDB's snapshots apart.
  const call = {
    args: ["log", "--no-walk=unsorted", "--stdin", "-z", "--no-show-signature", "--no-mailmap", "--format=%H%x1f%P%x1f%cI%x1f%an%x1f%s"],
    input: [...present].map((id) => `${id}\n`).join(""),
  };
  return run(root, call, (out) => {
    const described = new Map<string, CommitDescription>();
    for (const record of out.toString("utf8").split("\0")) {
      const [id = "", parents = "", committedAt = "", author = "", ...subject] = record.split("\x1f");
      if (present.has(id))
        described.set(id, { parents: parents.split(" ").filter(isObjectId), subject: subject.join("\x1f"), committedAt, author });
    }
    return described;
  });
}

/**
 * Writes the files of `commit` under `dir` without touching the user's checkout, index or branch: git reads
 * the tree into `index`, a private index file, and checks it out under `dir`.
 */
export async function checkoutTree(root: string, commit: string, dir: string, index: string): Promise<void> {
  // GIT_INDEX_FILE, not --index-output: read-tree would still lock the user's .git/index, which fails
  // when another worker (or the user's own git) holds it.
  const env = { GIT_INDEX_FILE: index };
  await run(root, { args: ["read-tree", objectId(commit)], env }, nothing);
  await run(root, { args: ["checkout-index", "--all", "--force", `--prefix=${path.resolve(dir)}${path.sep}`], env }, nothing);
}

/**
 * cat-file answers "missing" both for an object the repository does not have and for one it cannot read;
 * only the second writes errors: then it is a git failure, not an answer.
 */
function missing<T>(root: string, command: string, stderr: string, answer: T): T {
  if (/^(?:error|fatal): /m.test(stderr)) throw new GitError(command, root, stderr.trim());
  return answer;
}

function printable(text: string, keep = ""): string {
  return text.replace(CONTROL_CHARACTERS, (c) => (keep.includes(c) ? c : "?"));
}
