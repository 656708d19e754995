import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.js";
import type { ProjectScope } from "../project-scope.js";

/** How far one journal file (run or replay journal, relative to the flor directory) has been ingested. */
export interface JournalProgress {
  path: string;
  runId: number | null;
  offset: number;
  lines: number;
  badLines: number;
  complete: boolean;
}

/**
 * Records a journal's progress: the one place rows of `journals` are written. `keepExisting` leaves a
 * row already there alone (a replay journal is stored once, by whichever process gets there first).
 */
export async function saveJournal(
  db: Kysely<Database>,
  projectId: number,
  journal: JournalProgress,
  options: { keepExisting?: boolean } = {},
): Promise<void> {
  const values = {
    project_id: projectId,
    path: journal.path,
    run_id: journal.runId,
    offset: journal.offset,
    lines: journal.lines,
    bad_lines: journal.badLines,
    complete: journal.complete,
    updated_at: new Date(),
  };
  await db
    .insertInto("journals")
    .values(values)
    .onConflict((c) =>
      options.keepExisting
        ? c.columns(["project_id", "path"]).doNothing()
        : c.columns(["project_id", "path"]).doUpdateSet({
            run_id: values.run_id,
            offset: values.offset,
            lines: values.lines,
            bad_lines: values.bad_lines,
            complete: values.complete,
            updated_at: values.updated_at,
          }),
    )
    .execute();
}

/** A journal's progress with what ingest needs of its run: start time and the process writing it. */
export interface JournalState extends JournalProgress {
  tstamp: Date | null;
  pid: number | null;
  host: string | null;
}

/** Every journal of the project the store knows, by path. */
export async function journalStates({ db, projectId }: ProjectScope): Promise<Map<string, JournalState>> {
  const rows = await db
    .selectFrom("journals as j")
    .leftJoin("runs as r", "r.id", "j.run_id")
    .select(["j.path", "j.run_id", "j.offset", "j.lines", "j.bad_lines", "j.complete", "r.tstamp", "r.pid", "r.hostname"])
    .where("j.project_id", "=", projectId)
    .execute();
  return new Map(
    rows.map((row) => [
      row.path,
      {
        path: row.path,
        runId: row.run_id,
        offset: Number(row.offset),
        lines: row.lines,
        badLines: row.bad_lines,
        complete: row.complete,
        tstamp: row.tstamp,
        pid: row.pid,
        host: row.hostname,
      },
    ]),
  );
}

/**
 * A value that changes whenever the project's recorded data does: every change to runs, logs and
 * replayed values comes with a change to `journals`, so one cheap query tells whether caches are stale.
 */
export async function journalsFingerprint({ db, projectId }: ProjectScope): Promise<string> {
  return JSON.stringify(
    await db
      .selectFrom("journals as j")
      .select([sql<string>`count(*)`.as("n"), sql<string>`max(j.updated_at)`.as("at"), sql<string>`sum(j.offset)`.as("bytes")])
      .where("j.project_id", "=", projectId)
      .executeTakeFirst(),
  );
}
