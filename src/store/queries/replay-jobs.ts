import { sql, type Kysely } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import type { TaskSpec } from "../../replay/task-spec.js";
import type { ProjectScope } from "../project-scope.js";
import type { Database } from "../schema.js";
import type { StoreTransaction } from "../open-store.js";
import { addEvent } from "./replay-events.js";

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
  /** Recorded values its replays did not reproduce (from checkpoints, and from the start). */
  divergences: number;
  /** Tasks whose replay from checkpoints diverged, so that the run was replayed from its start instead. */
  redone: number;
  /** Values stored marked unverified: a replay from the run's start did not reproduce the recorded values either. */
  unverified: number;
}

/** A job as planned, ready to store. */
export interface NewJob {
  request: JsonValue;
  fingerprint: string;
  /** The plan as kept with the job, for people and the API. */
  plan: JsonValue;
  /** The workers the job runs on: of those asked for, as many as the plan found worth starting. */
  workers: number;
  estimatedSeconds: number;
  tasks: readonly { runId: number; spec: TaskSpec; estimatedSeconds: number; iterations: number }[];
}

const ENDED: ReadonlySet<string> = new Set(["done", "failed", "cancelled"]);

/** Whether a job with this status has ended; a job's last event has its final status as its kind, so this also tells the last event. */
export function hasEnded(status: string): boolean {
  return ENDED.has(status);
}

/** Stores a planned job with its tasks (queued) and its first event, in the transaction `tx`. */
export async function createJob({ db }: StoreTransaction, projectId: number, job: NewJob): Promise<number> {
  const status: JobStatus = job.tasks.length === 0 ? "done" : "queued";
  const { id } = await db
    .insertInto("replay_jobs")
    .values({
      project_id: projectId,
      status,
      request: JSON.stringify(job.request),
      fingerprint: job.fingerprint,
      plan: JSON.stringify(job.plan),
      workers: job.workers,
      estimated_seconds: job.estimatedSeconds,
      error: null,
      ...(status === "done" ? { finished_at: new Date() } : {}),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  for (let i = 0; i < job.tasks.length; i += 500) {
    await db
      .insertInto("replay_tasks")
      .values(
        job.tasks.slice(i, i + 500).map((task) => ({
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
  await addEvent(db, id, "planned", null, { tasks: job.tasks.length, estimatedSeconds: job.estimatedSeconds });
  if (status === "done") await addEvent(db, id, "done", null, { values: 0, divergences: 0 });
  return id;
}

/**
 * The job for `fingerprint` that is queued or running, or that finished successfully after `since`
 * (its values are stored, though a plan made before then does not know it); the newest such job.
 */
export async function currentJobFor({ db, projectId }: ProjectScope, fingerprint: string, since: Date): Promise<number | null> {
  const row = await db
    .selectFrom("replay_jobs")
    .select("id")
    .where("project_id", "=", projectId)
    .where("fingerprint", "=", fingerprint)
    .where((eb) => eb.or([eb("status", "in", ["queued", "running"]), eb.and([eb("status", "=", "done"), eb("finished_at", ">=", since)])]))
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The project's jobs that are queued or running, oldest first. */
export async function activeJobs({ db, projectId }: ProjectScope): Promise<number[]> {
  const rows = await db
    .selectFrom("replay_jobs")
    .select("id")
    .where("project_id", "=", projectId)
    .where("status", "in", ["queued", "running"])
    .orderBy("id")
    .execute();
  return rows.map((r) => r.id);
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
      sql<number>`count(*) filter (where redone)::int`.as("redone"),
      sql<number>`coalesce(sum(unverified), 0)::int`.as("unverified"),
    ])
    .where("job_id", "=", jobId)
    .groupBy("status")
    .execute();
  const counts = { total: 0, queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  const iterations = { total: 0, done: 0 };
  let values = 0;
  let divergences = 0;
  let redone = 0;
  let unverified = 0;
  for (const row of tasks) {
    redone += row.redone;
    unverified += row.unverified;
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
    redone,
    unverified,
  };
}

/** The plan a job was created with, as stored. */
export async function jobPlan(db: Kysely<Database>, jobId: number): Promise<JsonValue | null> {
  return (await db.selectFrom("replay_jobs").select("plan").where("id", "=", jobId).executeTakeFirst())?.plan ?? null;
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
    await addEvent(db, jobId, status, null, {
      values: job.values,
      divergences: job.divergences,
      redone: job.redone,
      unverified: job.unverified,
      ...(error === null ? {} : { error }),
    });
  return status;
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
