import { sql, type Kysely } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import type { Database } from "../schema.js";

export interface ReplayEvent {
  id: string;
  jobId: number;
  at: Date;
  kind: string;
  taskId: number | null;
  data: JsonValue;
}

/** The advisory-lock class serializing a job's event inserts (the job id is the other key). */
const EVENT_LOCK_CLASS = 0x464c4f52;

/**
 * Appends an event. Its id comes from a sequence, and readers resume "after" an id, so a lower id
 * must never become visible after a higher one: a per-job advisory lock, held to the end of the
 * transaction, makes ids commit in order (one statement, so it holds outside transactions too).
 */
export async function addEvent(db: Kysely<Database>, jobId: number, kind: string, taskId: number | null, data: JsonValue): Promise<void> {
  const ordered = sql`(select pg_advisory_xact_lock(${EVENT_LOCK_CLASS}::int, ${jobId}::int))`.as("ordered");
  await db
    .insertInto("replay_events")
    .columns(["job_id", "kind", "task_id", "data"])
    .expression(
      db
        .selectFrom(ordered)
        .select([
          sql<number>`${jobId}::int`.as("job_id"),
          sql<string>`${kind}::text`.as("kind"),
          sql<number | null>`${taskId}::int`.as("task_id"),
          sql<JsonValue>`${JSON.stringify(data)}::jsonb`.as("data"),
        ]),
    )
    .execute();
}

/** A job's events in order, those after the event id `after` when given, at most `limit` of them. */
export async function listEvents(db: Kysely<Database>, jobId: number, after?: string | null, limit?: number): Promise<ReplayEvent[]> {
  let query = db.selectFrom("replay_events").select(["id", "job_id", "at", "kind", "task_id", "data"]).where("job_id", "=", jobId);
  if (after !== undefined && after !== null) query = query.where("id", ">", after);
  if (limit !== undefined) query = query.limit(limit);
  const rows = await query.orderBy("id").execute();
  return rows.map((r) => ({ id: String(r.id), jobId: r.job_id, at: r.at, kind: r.kind, taskId: r.task_id, data: r.data }));
}
