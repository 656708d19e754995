import { existsSync } from "node:fs";
import path from "node:path";
import { FlorError } from "./errors.js";

/** Where a project's FlorDB files live: everything under `<repo root>/.flor/`. */
export interface ProjectLayout {
  /** Absolute path of the git repository's root. */
  root: string;
  /** The project id: the repository's directory name. */
  projid: string;
  florDir: string;
  journalsDir: string;
  objectsDir: string;
  /** Replay journals: one per replay task attempt, under `<job>/`. */
  replaysDir: string;
  /** The embedded PGlite data directory. */
  databaseDir: string;
  databaseLock: string;
}

export function layoutFor(root: string): ProjectLayout {
  const florDir = process.env["FLOR_DIR"] ? path.resolve(process.env["FLOR_DIR"]) : path.join(root, ".flor");
  return {
    root,
    projid: path.basename(root),
    florDir,
    journalsDir: path.join(florDir, "journals"),
    objectsDir: path.join(florDir, "objects"),
    replaysDir: path.join(florDir, "replays"),
    databaseDir: path.join(florDir, "db"),
    databaseLock: path.join(florDir, "db.lock"),
  };
}

/** The nearest directory at or above `start` that holds a `.git` directory or file. */
export function findRepositoryRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, ".git"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new FlorError(`${start} is not inside a git repository.`, {
        hint: "FlorDB versions your code with git: run `git init` in your project first.",
      });
    }
    dir = parent;
  }
}
