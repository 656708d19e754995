import { sql, type Kysely } from "kysely";
import { STORE_SCHEMA, type Database } from "../schema.js";

/** The project's id, creating its row the first time: the one place a project name becomes an id. */
export async function ensureProject(db: Kysely<Database>, projid: string): Promise<number> {
  await db
    .insertInto("projects")
    .values({ projid })
    .onConflict((c) => c.column("projid").doNothing())
    .execute();
  const { id } = await db.selectFrom("projects").select("id").where("projid", "=", projid).executeTakeFirstOrThrow();
  return id;
}

export interface ProjectSummary {
  projid: string;
  runCount: number;
  firstRun: Date | null;
  lastRun: Date | null;
}

/** Every project in the store with its run count and first and last run, by projid. */
export async function listProjects(db: Kysely<Database>): Promise<ProjectSummary[]> {
  const rows = await db
    .selectFrom("projects as p")
    .leftJoin("runs as r", "r.project_id", "p.id")
    .select([
      "p.projid",
      sql<number>`count(r.id)::int`.as("runs"),
      sql<Date | null>`min(r.tstamp)`.as("first"),
      sql<Date | null>`max(r.tstamp)`.as("last"),
    ])
    .groupBy("p.projid")
    .orderBy("p.projid")
    .execute();
  return rows.map((r) => ({ projid: r.projid, runCount: r.runs, firstRun: r.first, lastRun: r.last }));
}

/** Forgets everything recorded for the project (its row stays), for a rebuild from the journals. */
export async function forgetProject(db: Kysely<Database>, projectId: number): Promise<void> {
  const runs = db.selectFrom("runs").select("id").where("project_id", "=", projectId);
  const streams = db.selectFrom("log_streams").select("id").where("run_id", "in", runs);
  await db.deleteFrom("log_values").where("stream_id", "in", streams).execute();
  for (const table of [
    "log_streams",
    "log_names",
    "loop_ranges",
    "loop_summaries",
    "args",
    "checkpoints",
    "replay_coverage",
    "replay_divergences",
  ] as const) {
    await db.deleteFrom(table).where("run_id", "in", runs).execute();
  }
  // Jobs refer to runs by id, which a rebuild changes; the values they filled come back from their journals.
  await db.deleteFrom("replay_jobs").where("project_id", "=", projectId).execute();
  await db.deleteFrom("journals").where("project_id", "=", projectId).execute();
  await db.deleteFrom("runs").where("project_id", "=", projectId).execute();
}

/**
 * Refreshes the planner's statistics of the tables ingest fills: PGlite has no autovacuum to gather
 * them, and a pivot over a million rows otherwise runs as a million index lookups.
 */
export async function analyzeRecordedTables(db: Kysely<Database>): Promise<void> {
  const table = (name: string) => sql.table(`${STORE_SCHEMA}.${name}`);
  await sql`analyze ${table("log_values")}, ${table("log_streams")}, ${table("log_stream_stats")}, ${table("loop_ranges")}, ${table("log_names")}, ${table("runs")}, ${table("args")}`.execute(
    db,
  );
}
