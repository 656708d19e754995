import { sql, type Kysely } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import { contextDims } from "./loop-coordinates.js";
import { STORE_SCHEMA, type Database, type ReplayDivergencesTable } from "../schema.js";

/**
 * What replays did not reproduce (`replay_divergences`), and what a job's report says about it: each
 * value that differed, and per task how its divergence looked and its likely cause.
 */

/** A divergence as stored: recorded and replayed values as JSON text. */
export type NewDivergence = Omit<ReplayDivergencesTable, "id" | "recorded" | "replayed"> & {
  recorded: string | null;
  replayed: string | null;
};

export async function insertDivergences(db: Kysely<Database>, divergences: readonly NewDivergence[]): Promise<void> {
  for (let i = 0; i < divergences.length; i += 2000)
    await db
      .insertInto("replay_divergences")
      .values(divergences.slice(i, i + 2000))
      .execute();
}

/** Forgets what a task's earlier attempts reported at one stage (an attempt that is repeated reports again). */
export async function deleteTaskDivergences(db: Kysely<Database>, taskId: number, stage: "checkpoints" | "start"): Promise<void> {
  await db.deleteFrom("replay_divergences").where("task_id", "=", taskId).where("stage", "=", stage).execute();
}

/** How far apart two values are, when both are finite numbers; relative to the recorded one (null when it is 0). */
export function numericDifference(
  recorded: JsonValue | null,
  replayed: JsonValue | null,
): { absolute: number; relative: number | null } | null {
  if (typeof recorded !== "number" || typeof replayed !== "number") return null;
  const absolute = Math.abs(replayed - recorded);
  return { absolute, relative: recorded === 0 ? null : absolute / Math.abs(recorded) };
}

/** The divergences of one replay in a few facts. */
export interface DivergenceSummary {
  count: number;
  /** The names whose values differed (`(loop structure)` for iterations the recording does not have). */
  names: string[];
  /** The earliest difference, in the order the replay logged: where it left the recorded run. */
  first: { name: string; coordinates: Record<string, number>; recorded: JsonValue | null; replayed: JsonValue | null; detail: string };
  /** The largest absolute and relative differences between recorded and replayed numbers; null when no numbers differed. */
  maxAbs: number | null;
  maxRel: number | null;
}

/** What a task's replays showed, kept with the task for the job's report. */
export interface TaskDiagnosis {
  /** The replay that restored checkpoints and diverged; its values were refused and the run replayed from its start. */
  checkpoints: DivergenceSummary | null;
  /** The replay from the run's start that diverged; its values are stored marked unverified. */
  start: DivergenceSummary | null;
  /** The likely cause, in words. */
  cause: string;
  /** Module-level variables the outermost loop assigns that flor.checkpointing does not register (what propagation can see). */
  unregistered: string[];
}

/** A value a replay of a job did not reproduce, as the report lists it. */
export interface Divergence {
  id: string;
  runId: number;
  tstamp: Date;
  filename: string;
  name: string;
  /** Where it was logged: loop name → iteration (and `<loop>_value` → item); {} outside every loop. */
  coordinates: Record<string, JsonValue>;
  /** Which of the values of this name at these coordinates (0 for the first). */
  occurrence: number;
  recorded: JsonValue | null;
  replayed: JsonValue | null;
  /** |replayed − recorded|, and that relative to |recorded|, for numbers. */
  absolute: number | null;
  relative: number | null;
  detail: string;
  stage: "checkpoints" | "start" | null;
}

/** A page of a job's divergences in the order they were found, after the divergence id `after`. */
export async function jobDivergences(
  db: Kysely<Database>,
  jobId: number,
  page: { after?: string | null; limit: number },
): Promise<Divergence[]> {
  let query = db
    .selectFrom("replay_divergences as d")
    .innerJoin("replay_tasks as t", "t.id", "d.task_id")
    .innerJoin("runs as r", "r.id", "d.run_id")
    // The name's dimension keys, outer loop first: `dims` is jsonb, which keeps no key order.
    .leftJoin("log_names as n", (j) => j.onRef("n.run_id", "=", "d.run_id").onRef("n.name", "=", "d.name"))
    .select([
      "n.dim_keys",
      "d.id",
      "d.run_id",
      "r.tstamp",
      "r.filename",
      "d.name",
      // The context's coordinates, from the stored loop range that holds it (by primary key).
      sql<JsonValue | null>`(select case when d.ctx_id < l.ctx_id + l.count then ${contextDims("l", sql`d.ctx_id`)} end
        from ${sql.table(`${STORE_SCHEMA}.loop_ranges`)} l where l.run_id = d.run_id and l.ctx_id <= d.ctx_id
        order by l.ctx_id desc limit 1)`.as("dims"),
      "d.occurrence",
      "d.recorded",
      "d.replayed",
      "d.detail",
      "d.stage",
    ])
    .where("t.job_id", "=", jobId);
  if (page.after !== undefined && page.after !== null) query = query.where("d.id", ">", page.after);
  const rows = await query.orderBy("d.id").limit(page.limit).execute();
  return rows.map((row) => {
    const difference = numericDifference(row.recorded, row.replayed);
    return {
      id: String(row.id),
      runId: row.run_id,
      tstamp: row.tstamp,
      filename: row.filename,
      name: row.name,
      coordinates: inOrder((row.dims ?? {}) as Record<string, JsonValue>, row.dim_keys ?? []),
      occurrence: row.occurrence,
      recorded: row.recorded,
      replayed: row.replayed,
      absolute: difference?.absolute ?? null,
      relative: difference?.relative ?? null,
      detail: row.detail,
      stage: row.stage,
    };
  });
}

/** How many divergences a job's tasks found. */
export async function jobDivergenceCount(db: Kysely<Database>, jobId: number): Promise<number> {
  const row = await db
    .selectFrom("replay_divergences as d")
    .innerJoin("replay_tasks as t", "t.id", "d.task_id")
    .select(sql<number>`count(*)::int`.as("n"))
    .where("t.job_id", "=", jobId)
    .executeTakeFirst();
  return row?.n ?? 0;
}

/** A task of a job whose replay diverged, with its run and what the report says about it. */
export interface DivergedTask {
  taskId: number;
  runId: number;
  tstamp: Date;
  filename: string;
  vid: string | null;
  /** Its replay from checkpoints diverged and the run was replayed from its start. */
  redone: boolean;
  /** Values it stored marked unverified. */
  unverified: number;
  diagnosis: TaskDiagnosis;
}

/** The job's tasks whose replays diverged, by run start. */
export async function divergedTasks(db: Kysely<Database>, jobId: number): Promise<DivergedTask[]> {
  const rows = await db
    .selectFrom("replay_tasks as t")
    .innerJoin("runs as r", "r.id", "t.run_id")
    .select(["t.id", "t.run_id", "r.tstamp", "r.filename", "r.vid", "t.redone", "t.unverified", "t.diagnosis"])
    .where("t.job_id", "=", jobId)
    .where("t.diagnosis", "is not", null)
    .orderBy("r.tstamp")
    .orderBy("t.id")
    .execute();
  return rows.map((row) => ({
    taskId: row.id,
    runId: row.run_id,
    tstamp: row.tstamp,
    filename: row.filename,
    vid: row.vid,
    redone: row.redone,
    unverified: row.unverified,
    diagnosis: JSON.parse(row.diagnosis!) as TaskDiagnosis,
  }));
}

/** Coordinates with their keys in `order` (outer loop first), the keys it does not name after them. */
function inOrder(coordinates: Record<string, JsonValue>, order: readonly string[]): Record<string, JsonValue> {
  const keys = [...order.filter((key) => key in coordinates), ...Object.keys(coordinates).filter((key) => !order.includes(key))];
  return Object.fromEntries(keys.map((key) => [key, coordinates[key]!]));
}
