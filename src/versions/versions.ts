import type { ProjectScope } from "../store/project-scope.js";
import { versionRows } from "../store/queries/runs.js";
import { describeCommits, isObjectId } from "./git.js";
import { SNAPSHOT_AUTHOR, SNAPSHOT_MESSAGE } from "./snapshot.js";

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

/** The code versions the project's runs ran (only those in `vids` when given), oldest first, described from git. */
export async function listVersions(project: ProjectScope, root: string, vids?: readonly string[]): Promise<CodeVersion[]> {
  if (vids?.length === 0) return [];
  const rows = await versionRows(project, vids);
  // A vid comes from a journal, which anyone can edit: only an object id may reach git.
  const described = await describeCommits(root, rows.map((r) => r.vid!).filter(isObjectId));
  return rows.map((row) => {
    const info = described.get(row.vid!);
    const snapshot = info !== undefined && info.author === SNAPSHOT_AUTHOR.name && info.subject === SNAPSHOT_MESSAGE;
    return {
      vid: row.vid!,
      base: snapshot ? (info.parents[0] ?? null) : null,
      kind: info === undefined ? "missing" : snapshot ? "snapshot" : "commit",
      message: snapshot
        ? info.parents[0]
          ? `uncommitted changes on ${info.parents[0].slice(0, 10)}`
          : "uncommitted changes"
        : (info?.subject ?? null),
      committedAt: info === undefined || snapshot ? null : info.committedAt,
      firstRun: new Date(row.first as unknown as Date).toISOString(),
      lastRun: new Date(row.last as unknown as Date).toISOString(),
      runs: Number(row.runs),
      filenames: [...row.filenames].sort(),
    };
  });
}
