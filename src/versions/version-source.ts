import { FlorError, FlorUsageError } from "../errors.js";
import { blobsAt, diff, GitOutputTooLarge, objectId, presentCommits, readBlobs, repositoryPath, treeEntries } from "./git.js";

/** Files and diffs larger than this are refused rather than held in memory and sent whole. */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

/** A recorded version whose commit this clone does not have (recorded elsewhere, or pruned). */
export class VersionMissingError extends FlorError {
  constructor(vid: string) {
    super(`version ${vid} is not in this clone of the repository`, {
      hint: "Snapshots recorded in another clone are fetched with: git fetch <remote> 'refs/flor/*:refs/flor/*'",
    });
    this.name = "VersionMissingError";
  }
}

/**
 * The text of each of `files` in version `vid`: null for a path that is not a file in that version. Refuses
 * a vid that is not a full commit id and paths outside the repository; throws VersionMissingError when this
 * clone lacks the version, and GitError when git fails, which is never read as "no such file".
 */
export async function sourcesAt(root: string, vid: string, files: readonly string[]): Promise<Map<string, string | null>> {
  const commit = objectId(vid);
  const names = files.map(repositoryPath);
  await requireCommits(root, [commit]);
  const entries = await treeEntries(root, commit, names);
  const blobs = [...entries.values()].filter((entry) => entry.type === "blob").map((entry) => entry.id);
  const contents = await readBlobs(root, blobs);
  return new Map(
    names.map((name) => {
      const entry = entries.get(name);
      return [name, entry?.type === "blob" ? contents.get(entry.id)!.toString("utf8") : null];
    }),
  );
}

/**
 * `sourcesAt` for several versions at once, with two gits in all instead of three per version (a planner
 * reads the same few files of every recorded version). Each version's answer is its files' texts, or the
 * error `sourcesAt` would throw for it (VersionMissingError, or FlorUsageError for a vid that is no commit id).
 */
export async function sourcesAtVersions(
  root: string,
  wanted: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, Map<string, string | null> | FlorError>> {
  const answers = new Map<string, Map<string, string | null> | FlorError>();
  const readable = new Map<string, string[]>();
  for (const [vid, files] of wanted) {
    try {
      readable.set(objectId(vid), files.map(repositoryPath));
    } catch (error) {
      if (!(error instanceof FlorUsageError)) throw error;
      answers.set(vid, error);
    }
  }
  const present = await presentCommits(root, [...readable.keys()]);
  const blobs = await blobsAt(
    root,
    [...readable].filter(([commit]) => present.has(commit)).flatMap(([commit, files]) => files.map((file) => ({ commit, path: file }))),
  );
  for (const [commit, files] of readable) {
    if (!present.has(commit)) {
      answers.set(commit, new VersionMissingError(commit));
      continue;
    }
    answers.set(commit, new Map(files.map((file) => [file, blobs.get(`${commit}:${file}`)?.toString("utf8") ?? null])));
  }
  return answers;
}

/** The text of `file` in version `vid`; null when that version has no such file. */
export async function sourceAt(root: string, vid: string, file: string): Promise<string | null> {
  const commit = objectId(vid);
  const name = repositoryPath(file);
  await requireCommits(root, [commit]);
  const entry = (await treeEntries(root, commit, [name])).get(name);
  if (entry === undefined) return null;
  if (entry.type !== "blob") throw new FlorUsageError(`${name} is a ${kind(entry.type)} in version ${vid.slice(0, 10)}, not a file`);
  if (entry.size! > MAX_SOURCE_BYTES)
    throw new FlorUsageError(`${name} is ${entry.size} bytes in version ${vid.slice(0, 10)}; at most ${MAX_SOURCE_BYTES} are served`);
  const content = (await readBlobs(root, [entry.id], MAX_SOURCE_BYTES)).get(entry.id)!;
  if (content.includes(0)) throw new FlorUsageError(`${name} is a binary file in version ${vid.slice(0, 10)}`);
  return content.toString("utf8");
}

/** The unified diff from version `from` to `to` (of one file when `file` is given); "" when they do not differ. */
export async function diffBetween(root: string, from: string, to: string, file: string | null): Promise<string> {
  const fromCommit = objectId(from);
  const toCommit = objectId(to);
  const name = file === null ? null : repositoryPath(file);
  await requireCommits(root, [fromCommit, toCommit]);
  if (name !== null) {
    const [inFrom, inTo] = await Promise.all([treeEntries(root, fromCommit, [name]), treeEntries(root, toCommit, [name])]);
    if (!inFrom.has(name) && !inTo.has(name)) throw new FlorUsageError(`${name} is in neither version`);
  }
  try {
    return (await diff(root, fromCommit, toCommit, name, MAX_SOURCE_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof GitOutputTooLarge) throw new FlorUsageError(`the diff is larger than ${MAX_SOURCE_BYTES} bytes; ask for one file`);
    throw error;
  }
}

async function requireCommits(root: string, commits: readonly string[]): Promise<void> {
  const present = await presentCommits(root, commits);
  for (const commit of commits) if (!present.has(commit)) throw new VersionMissingError(commit);
}

function kind(type: string): string {
  return type === "tree" ? "directory" : type;
}
