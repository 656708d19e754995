import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { layoutFor } from "../project-layout.js";
import { ignoredPaths, untrackedFiles } from "./git.js";

/**
 * Folders of installed dependencies. They are reinstalled from a lock file, not versioned, and hold
 * thousands of files: a project without a .gitignore would otherwise put all of node_modules into its
 * first snapshot (and into .git, which then needs a long repack).
 */
export const DEPENDENCY_FOLDERS = [
  "node_modules",
  "bower_components",
  "jspm_packages",
  ".pnpm-store",
  ".yarn/cache",
  ".yarn/unplugged",
  ".venv",
];

/** An untracked file this big that would enter a snapshot is warned about. */
export const LARGE_FILE_BYTES = 10 * 1024 * 1024;

/** The marker, in the project's .flor/, that says the warning was given. */
const WARNED_MARKER = "warned-unignored-files";

/**
 * Warns, once per repository, when the working tree has what belongs in a .gitignore: a dependency
 * folder that nothing ignores (snapshots leave it out, the user's own `git add -A` would not), or an
 * untracked file of LARGE_FILE_BYTES or more, which every snapshot would store in .git.
 */
export function warnAboutUnignoredFiles(root: string): void {
  const marker = path.join(layoutFor(root).florDir, WARNED_MARKER);
  if (existsSync(marker)) return;
  const folders = unignoredDependencyFolders(root);
  const large = largeUntrackedFiles(root).slice(0, 10);
  if (folders.length === 0 && large.length === 0) return;

  const lines = [
    ...folders.map(
      (folder) => `flor: warning: ${folder}/ is not ignored by git; FlorDB leaves it out of code snapshots, but git add -A would not.`,
    ),
    ...large.map(
      ({ file, bytes }) =>
        `flor: warning: ${file} (${(bytes / 1024 / 1024).toFixed(1)} MB) is untracked and not ignored, so every code snapshot stores it in .git.`,
    ),
    `flor: add ${folders.length + large.length === 1 ? "it" : "them"} to .gitignore: printf '${[...folders.map((f) => `${f}/`), ...large.map(({ file }) => file)].join("\\n")}\\n' >> .gitignore`,
    "flor: (this warning is shown once per repository)",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, `${[...folders, ...large.map(({ file }) => file)].join("\n")}\n`);
}

/** Dependency folders at the repository's root that git does not ignore. */
function unignoredDependencyFolders(root: string): string[] {
  const present = DEPENDENCY_FOLDERS.filter((folder) => existsSync(path.join(root, folder)));
  if (present.length === 0) return [];
  const ignored = ignoredPaths(
    root,
    present.map((folder) => `${folder}/`),
  );
  return present.filter((folder) => !ignored.has(`${folder}/`));
}

/** Untracked, unignored files outside dependency folders that are LARGE_FILE_BYTES or bigger, largest first. */
function largeUntrackedFiles(root: string): { file: string; bytes: number }[] {
  const untracked = untrackedFiles(root, DEPENDENCY_FOLDERS);
  const large: { file: string; bytes: number }[] = [];
  for (const file of untracked) {
    try {
      const stats = lstatSync(path.join(root, file));
      if (stats.isFile() && stats.size >= LARGE_FILE_BYTES) large.push({ file, bytes: stats.size });
    } catch {
      // Deleted since git listed it: it will not be snapshotted either.
    }
  }
  return large.sort((a, b) => b.bytes - a.bytes);
}
