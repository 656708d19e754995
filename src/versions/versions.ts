import { simpleGit } from "simple-git";
import type { ProjectScope } from "../store/project-scope.js";
import { versionRows } from "../store/queries/runs.js";

export interface CodeVersion {
  vid: string;
  /** The user's commit the snapshot was taken on (null when the vid is a user commit itself or the repository had none). */
  base: string | null;
  /** "commit" when the tree that ran was committed; "snapshot" when it had uncommitted changes. */
  kind: "commit" | "snapshot" | "missing";
  message: string | null;
  committedAt: string | null;
  firstRun: string;
  lastRun: string;
  runs: number;
  filenames: string[];
}

const FIELD = "\x1f";

/** The code versions the project's runs ran (only those in `vids` when given), oldest first, described from git. */
export async function listVersions(project: ProjectScope, root: string, vids?: readonly string[]): Promise<CodeVersion[]> {
  if (vids?.length === 0) return [];
  const rows = await versionRows(project, vids);
  const git = simpleGit({ baseDir: root });
  const described = new Map<string, { parents: string[]; message: string; date: string; author: string }>();
  // A vid comes from a journal, which anyone can edit: only an object id may reach git's command line.
  for (const vid of rows.map((r) => r.vid!).filter((vid) => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(vid))) {
    try {
      const out = await git.raw(["show", "-s", `--format=%P${FIELD}%s${FIELD}%cI${FIELD}%an`, vid]);
      const [parents = "", message = "", date = "", author = ""] = out.trim().split(FIELD);
      described.set(vid, { parents: parents.split(" ").filter(Boolean), message, date, author });
    } catch {
      // Not in this clone (recorded elsewhere, or pruned): listed as missing.
    }
  }
  return rows.map((row) => {
    const info = described.get(row.vid!);
    const snapshot = info !== undefined && info.author === "flor" && info.message === "flor: snapshot of the working tree";
    return {
      vid: row.vid!,
      base: snapshot ? (info.parents[0] ?? null) : null,
      kind: info === undefined ? "missing" : snapshot ? "snapshot" : "commit",
      message: snapshot
        ? info.parents[0]
          ? `uncommitted changes on ${info.parents[0].slice(0, 10)}`
          : "uncommitted changes"
        : (info?.message ?? null),
      committedAt: info === undefined || snapshot ? null : info.date,
      firstRun: new Date(row.first as unknown as Date).toISOString(),
      lastRun: new Date(row.last as unknown as Date).toISOString(),
      runs: Number(row.runs),
      filenames: [...row.filenames].sort(),
    };
  });
}
