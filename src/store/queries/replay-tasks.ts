import { sql, type Kysely } from "kysely";
import type { JsonValue } from "../../journal/records.js";
import type { TaskSpec } from "../../replay/task-spec.js";
import type { ProjectScope } from "../project-scope.js";
import type { Database, ReplayTaskStatus } from "../schema.js";
import { addEvent } from "./replay-events.js";
import type { TaskDiagnosis } from "./replay-divergences.js";

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

const TASK_COLUMNS = ["id", "job_id", "run_id", "status", "spec", "estimated_seconds", "iterations", "attempts"] as const;

export async function jobTasks(db: Kysely<Database>, jobId: number, statuses?: ReplayTaskStatus[]): Promise<ReplayTask[]> {
  let query = db.selectFrom("replay_tasks").select(TASK_COLUMNS).where("job_id", "=", jobId);
  if (statuses !== undefined) query = query.where("status", "in", statuses);
  const rows = await query.orderBy("id").execute();
  return rows.map(toTask);
}

export async function getTask(db: Kysely<Database>, taskId: number): Promise<ReplayTask | null> {
  const row = await db.selectFrom("replay_tasks").select(TASK_COLUMNS).where("id", "=", taskId).executeTakeFirst();
  return row === undefined ? null : toTask(row);
}

export async function taskStatus(db: Kysely<Database>, taskId: number): Promise<ReplayTaskStatus | null> {
  return (await db.selectFrom("replay_tasks").select("status").where("id", "=", taskId).executeTakeFirst())?.status ?? null;
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

export async function recordAttempt(db: Kysely<Database>, taskId: number, attempt: number): Promise<void> {
  await db.updateTable("replay_tasks").set({ attempts: attempt }).where("id", "=", taskId).execute();
}

/**
 * Puts a running task back in the queue (its runner stopped, or vanished); false when it was not
 * running. `forget` also clears who ran it and since when.
 */
export async function requeueTask(db: Kysely<Database>, taskId: number, forget: boolean): Promise<boolean> {
  const requeued = await db
    .updateTable("replay_tasks")
    .set(forget ? { status: "queued", worker: null, started_at: null } : { status: "queued" })
    .where("id", "=", taskId)
    .where("status", "=", "running")
    .returning("id")
    .executeTakeFirst();
  return requeued !== undefined;
}

export async function failTask(db: Kysely<Database>, taskId: number, error: string): Promise<void> {
  await db.updateTable("replay_tasks").set({ status: "failed", error, finished_at: new Date() }).where("id", "=", taskId).execute();
}

export async function completeTask(
  db: Kysely<Database>,
  taskId: number,
  result: { journal: string; values: number; divergences: number; unverified: number; redone: boolean; diagnosis: TaskDiagnosis | null },
): Promise<void> {
  await db
    .updateTable("replay_tasks")
    .set({
      status: "done",
      finished_at: new Date(),
      journal: result.journal,
      values_written: result.values,
      divergences: result.divergences,
      error: null,
      redone: result.redone,
      unverified: result.unverified,
      diagnosis: result.diagnosis === null ? null : JSON.stringify(result.diagnosis),
    })
    .where("id", "=", taskId)
    .execute();
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

/** Ids of the tasks (of any project) that are queued or running: their journals are not finished yet. */
export async function activeTaskIds(db: Kysely<Database>): Promise<Set<number>> {
  return new Set(
    (await db.selectFrom("replay_tasks").select("id").where("status", "in", ["queued", "running"]).execute()).map((t) => t.id),
  );
}

/** Whether the project has a replay task queued or running. */
export async function hasActiveTasks({ db, projectId }: ProjectScope): Promise<boolean> {
  const rows = await db
    .selectFrom("replay_tasks as t")
    .innerJoin("replay_jobs as j", "j.id", "t.job_id")
    .select("t.id")
    .where("j.project_id", "=", projectId)
    .where("t.status", "in", ["queued", "running"])
    .limit(1)
    .execute();
  return rows.length > 0;
}
