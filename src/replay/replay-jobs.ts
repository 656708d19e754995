import { sql } from "kysely";
import type { Store } from "../store/open-store.js";
import type { Database, ReplayTaskStatus } from "../store/schema.js";
import type { Kysely } from "kysely";
import type { JsonValue } from "../journal/records.js";
import type { ReplayPlan } from "./replay-plan.js";
import type { TaskSpec } from "./task-spec.js";

export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface ReplayJob {
  id: number;
  status: JobStatus;
  request: JsonValue;
  error: string | null;
  workers: number | null;
  estimatedSeconds: number | null;
  createdAt: Date;
  finishedAt: Date | null;
  tasks: { total: number; queued: number; running: number; done: number; failed: number; cancelled: number };
  iterations: { total: number; done: number };
  values: number;
  divergences: number;
}

export interface ReplayTask {
  id: number;
  jobId: number;
  runId: number;
  status: ReplayTaskStatus;
  spec: TaskSpec;
  estimatedSeconds: number;
  iterations: number;
  attempts: number;
}

export interface ReplayEvent {
  id: string;
  jobId: number;
  at: Date;
  kind: string;
  taskId: number | null;
  data: JsonValue;
}

/** Stores a planned job with its tasks (queued) and its first event, in one transaction. */
export async function createJob(
  store: Store,
  projectId: number,
  request: JsonValue,
  fingerprint: string,
  plan: ReplayPlan,
): Promise<number> {
  return store.transaction(async ({ db }) => {
    const status: JobStatus = plan.tasks.length === 0 ? "done" : "queued";
    const { id } = await db
      .insertInto("replay_jobs")
      .values({
        project_id: projectId,
        status,
        request: JSON.stringify(request),
        fingerprint,
        plan: JSON.stringify(summarizePlan(plan)),
        workers: plan.workers,
        estimated_seconds: plan.estimate.wallSeconds,
        error: null,
        ...(status === "done" ? { finished_at: new Date() } : {}),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    for (let i = 0; i < plan.tasks.length; i += 500) {
      await db
        .insertInto("replay_tasks")
        .values(
          plan.tasks.slice(i, i + 500).map((task) => ({
            job_id: id,
            run_id: task.runId,
            status: "queued" as const,
            spec: JSON.stringify(task.spec),
            estimated_seconds: task.estimatedSeconds,
            iterations: task.iterations,
          })),
        )
        .execute();
    }
    await addEvent(db, id, "planned", null, { tasks: plan.tasks.length, estimatedSeconds: plan.estimate.wallSeconds });
    if (status === "done") await addEvent(db, id, "done", null, { values: 0, divergences: 0 });
    return id;
  });
}

/** The plan as kept with the job: everything but the tasks' patched sources (those are in the tasks). */
function summarizePlan(plan: ReplayPlan): JsonValue {
  return JSON.parse(
    JSON.stringify({
      ...plan,
      tasks: plan.tasks.map(({ runId, estimatedSeconds, iterations, spec }) => ({
        runId,
        estimatedSeconds,
        iterations,
        segments: spec.segments.map((s) => [s.from, s.to]),
        before: spec.before,
        after: spec.after,
      })),
    }),
  ) as JsonValue;
}

/** A job for the same request that is still queued or running, so that repeating a request does not start a second job. */
export async function activeJobFor(db: Kysely<Database>, projectId: number, fingerprint: string): Promise<number | null> {
  const row = await db
    .selectFrom("replay_jobs")
    .select("id")
    .where("project_id", "=", projectId)
    .where("fingerprint", "=", fingerprint)
    .where("status", "in", ["queued", "running"])
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The advisory-lock class serializing a job's event inserts (the job id is the other key). */
const EVENT_LOCK_CLASS = 0x464c4f52;

const ENDED: ReadonlySet<string> = new Set(["done", "failed", "cancelled"]);

/** Whether a job with this status has ended; a job's last event has its final status as its kind, so this also tells the last event. */
export function hasEnded(status: string): boolean {
  return ENDED.has(status);
}

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

export async function getJob(db: Kysely<Database>, jobId: number): Promise<ReplayJob | null> {
  const job = await db.selectFrom("replay_jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  if (job === undefined) return null;
  const tasks = await db
    .selectFrom("replay_tasks")
    .select([
      "status",
      sql<number>`count(*)::int`.as("n"),
      sql<number>`coalesce(sum(iterations), 0)::int`.as("iterations"),
      sql<number>`coalesce(sum(values_written), 0)::int`.as("values"),
      sql<number>`coalesce(sum(divergences), 0)::int`.as("divergences"),
    ])
    .where("job_id", "=", jobId)
    .groupBy("status")
    .execute();
  const counts = { total: 0, queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  const iterations = { total: 0, done: 0 };
  let values = 0;
  let divergences = 0;
  for (const row of tasks) {
    counts[row.status] += row.n;
    counts.total += row.n;
    iterations.total += row.iterations;
    if (row.status === "done") iterations.done += row.iterations;
    values += row.values;
    divergences += row.divergences;
  }
  return {
    id: job.id,
    status: job.status,
    request: job.request,
    error: job.error,
    workers: job.workers,
    estimatedSeconds: job.estimated_seconds,
    createdAt: job.created_at,
    finishedAt: job.finished_at,
    tasks: counts,
    iterations,
    values,
    divergences,
  };
}

export async function jobTasks(db: Kysely<Database>, jobId: number, statuses?: ReplayTaskStatus[]): Promise<ReplayTask[]> {
  let query = db
    .selectFrom("replay_tasks")
    .select(["id", "job_id", "run_id", "status", "spec", "estimated_seconds", "iterations", "attempts"])
    .where("job_id", "=", jobId);
  if (statuses !== undefined) query = query.where("status", "in", statuses);
  const rows = await query.orderBy("id").execute();
  return rows.map(toTask);
}

export async function getTask(db: Kysely<Database>, taskId: number): Promise<ReplayTask | null> {
  const row = await db
    .selectFrom("replay_tasks")
    .select(["id", "job_id", "run_id", "status", "spec", "estimated_seconds", "iterations", "attempts"])
    .where("id", "=", taskId)
    .executeTakeFirst();
  return row === undefined ? null : toTask(row);
}

function toTask(r: {
  id: number;
  job_id: number;
  run_id: number;
  status: ReplayTaskStatus;
  spec: JsonValue;
  estimated_seconds: number;
  iterations: number;
  attempts: number;
}): ReplayTask {
  return {
    id: r.id,
    jobId: r.job_id,
    runId: r.run_id,
    status: r.status,
    spec: r.spec as unknown as TaskSpec,
    estimatedSeconds: r.estimated_seconds,
    iterations: r.iterations,
    attempts: r.attempts,
  };
}

/** Marks a queued task running for `worker`; false when another worker has it or the job was cancelled. */
export async function claimTask(db: Kysely<Database>, taskId: number, worker: string): Promise<boolean> {
  const claimed = await db
    .updateTable("replay_tasks")
    .set({ status: "running", worker, started_at: new Date() })
    .where("id", "=", taskId)
    .where("status", "=", "queued")
    .returning("job_id")
    .executeTakeFirst();
  if (claimed === undefined) return false;
  await db
    .updateTable("replay_jobs")
    .set({ status: "running", started_at: sql`coalesce(started_at, now())`, updated_at: new Date() })
    .where("id", "=", claimed.job_id)
    .where("status", "=", "queued")
    .execute();
  await addEvent(db, claimed.job_id, "task-started", taskId, { worker });
  return true;
}

/**
 * Closes the job when none of its tasks is left to run: done when every task is, failed when one
 * failed (what the others filled stays: each task's values are complete for what it covered).
 */
export async function settleJob(db: Kysely<Database>, jobId: number): Promise<JobStatus | null> {
  const job = await getJob(db, jobId);
  if (job === null || hasEnded(job.status)) return job?.status ?? null;
  if (job.tasks.queued + job.tasks.running > 0) return null;
  const status: JobStatus = job.tasks.failed > 0 ? "failed" : "done";
  const error = status === "failed" ? `${job.tasks.failed} of ${job.tasks.total} tasks failed` : null;
  const settled = await db
    .updateTable("replay_jobs")
    .set({ status, error, finished_at: new Date(), updated_at: new Date() })
    .where("id", "=", jobId)
    .where("status", "in", ["queued", "running"])
    .returning("id")
    .executeTakeFirst();
  if (settled !== undefined)
    await addEvent(db, jobId, status, null, { values: job.values, divergences: job.divergences, ...(error === null ? {} : { error }) });
  return status;
}

/**
 * Puts a job's running tasks back in the queue, for a process taking over from one that died while
 * running them (their partial journals were never ingested, so nothing is stored twice).
 */
export async function requeueRunningTasks(db: Kysely<Database>, jobId: number): Promise<number> {
  const requeued = await db
    .updateTable("replay_tasks")
    .set({ status: "queued", worker: null, started_at: null })
    .where("job_id", "=", jobId)
    .where("status", "=", "running")
    .returning(["id", "worker"])
    .execute();
  for (const task of requeued) await addEvent(db, jobId, "task-requeued", task.id, { abandonedBy: task.worker });
  return requeued.length;
}

/** The project's jobs that are queued or running, oldest first. */
export async function activeJobs(db: Kysely<Database>, projectId: number): Promise<number[]> {
  const rows = await db
    .selectFrom("replay_jobs")
    .select("id")
    .where("project_id", "=", projectId)
    .where("status", "in", ["queued", "running"])
    .orderBy("id")
    .execute();
  return rows.map((r) => r.id);
}

/** Cancels a job: its queued tasks never start; workers stop its running ones. */
export async function cancelJob(db: Kysely<Database>, jobId: number): Promise<boolean> {
  const cancelled = await db
    .updateTable("replay_jobs")
    .set({ status: "cancelled", finished_at: new Date(), updated_at: new Date() })
    .where("id", "=", jobId)
    .where("status", "in", ["queued", "running"])
    .returning("id")
    .executeTakeFirst();
  if (cancelled === undefined) return false;
  await db
    .updateTable("replay_tasks")
    .set({ status: "cancelled" })
    .where("job_id", "=", jobId)
    .where("status", "in", ["queued", "running"])
    .execute();
  await addEvent(db, jobId, "cancelled", null, {});
  return true;
}
