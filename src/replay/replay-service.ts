import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { availableParallelism } from "node:os";
import { FlorError } from "../errors.js";
import type { ProjectLayout } from "../project-layout.js";
import type { Store } from "../store/open-store.js";
import { planReplay, type ReplayPlan, type ReplayRequest } from "./replay-plan.js";
import { activeJobFor, activeJobs, createJob, getJob, hasEnded, jobTasks, requeueRunningTasks, type ReplayJob } from "./replay-jobs.js";
import { executeTask, TreeCache, type WorkerContext } from "./execute-task.js";

export function defaultWorkers(): number {
  return availableParallelism();
}

export interface RequestedReplay {
  jobId: number;
  /** The plan of a new job; null when an identical request's job was still running and is returned instead. */
  plan: ReplayPlan | null;
}

/**
 * Plans a replay and stores it as a job with queued tasks. Idempotent while the job runs: the same
 * request (names, scope) returns the running job rather than starting a second one.
 */
export async function requestReplay(
  store: Store,
  layout: ProjectLayout,
  request: ReplayRequest,
  options: { workers: number },
): Promise<RequestedReplay> {
  const projectId = await projectIdOf(store, layout);
  const fingerprint = createHash("sha256")
    .update(
      JSON.stringify({
        names: [...new Set(request.names)].sort(),
        filename: request.filename ?? null,
        runs: request.runIds ?? null,
        where: request.whereText ?? null,
      }),
    )
    .digest("hex");
  const running = await activeJobFor(store.db, projectId, fingerprint);
  if (running !== null) return { jobId: running, plan: null };
  const plan = await planReplay(store, layout, request, options);
  const jobId = await createJob(
    store,
    projectId,
    JSON.parse(JSON.stringify({ names: plan.names, filename: request.filename ?? null, where: plan.where })),
    fingerprint,
    plan,
  );
  return { jobId, plan };
}

export async function projectIdOf(store: Store, layout: ProjectLayout): Promise<number> {
  const project = await store.db.selectFrom("projects").select("id").where("projid", "=", layout.projid).executeTakeFirst();
  if (project === undefined) throw new FlorError(`no runs of project ${layout.projid} are recorded yet`);
  return project.id;
}

export interface LocalRunOptions {
  workers: number;
  /** Called after each task ends, with the job's state. */
  onProgress?: (job: ReplayJob) => void;
}

/**
 * Runs a job's queued tasks here, `workers` child processes at a time, longest first; stops the
 * running children when the job is cancelled. Returns the job as it ended.
 */
export function runJobLocally(store: Store, layout: ProjectLayout, jobId: number, options: LocalRunOptions): Promise<ReplayJob> {
  // One runner per job in a process: a second request for a job this process already runs joins it.
  let running = localRuns.get(store)?.get(jobId);
  if (running === undefined) {
    running = runHere(store, layout, jobId, options).finally(() => localRuns.get(store)?.delete(jobId));
    (localRuns.get(store) ?? localRuns.set(store, new Map()).get(store)!).set(jobId, running);
  }
  return running;
}

const localRuns = new WeakMap<Store, Map<number, Promise<ReplayJob>>>();
const stoppers = new WeakMap<Store, Set<() => void>>();

/**
 * Stops the jobs this process runs on `store`, before the store closes: running children are killed
 * and their tasks queued again (a later runner takes the jobs over), nothing is marked failed.
 */
export async function stopLocalRuns(store: Store): Promise<void> {
  for (const stop of stoppers.get(store) ?? []) stop();
  await Promise.allSettled([...(localRuns.get(store)?.values() ?? [])]);
}

/**
 * On the embedded store, resumes every queued or running job in the background: they were left by a
 * process that stopped before finishing them (the store lock means no other process is running them).
 */
export async function resumeAbandonedJobs(store: Store, layout: ProjectLayout, options: LocalRunOptions): Promise<number[]> {
  if (store.kind !== "pglite") return [];
  const project = await store.db.selectFrom("projects").select("id").where("projid", "=", layout.projid).executeTakeFirst();
  if (project === undefined) return [];
  const jobs = await activeJobs(store.db, project.id);
  for (const jobId of jobs) void runJobLocally(store, layout, jobId, options).catch(() => undefined);
  return jobs;
}

async function runHere(store: Store, layout: ProjectLayout, jobId: number, options: LocalRunOptions): Promise<ReplayJob> {
  const kills = new Map<number, () => void>();
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    for (const kill of kills.values()) kill();
  };
  (stoppers.get(store) ?? stoppers.set(store, new Set()).get(store)!).add(stop);
  try {
    return await runTasks(store, layout, jobId, options, kills, () => stopping);
  } finally {
    stoppers.get(store)?.delete(stop);
  }
}

async function runTasks(
  store: Store,
  layout: ProjectLayout,
  jobId: number,
  options: LocalRunOptions,
  kills: Map<number, () => void>,
  stopping: () => boolean,
): Promise<ReplayJob> {
  // The embedded store has one process at a time, and this process runs the job only here: a task
  // marked running belongs to a process that stopped, and would otherwise keep the job open forever.
  if (store.kind === "pglite") await requeueRunningTasks(store.db, jobId);
  const projectId = await projectIdOf(store, layout);
  const ctx: WorkerContext = {
    store,
    layout,
    projectId,
    worker: `${hostname()}:${process.pid}`,
    trees: new TreeCache(layout.root),
    onChild: (taskId, kill) => (kill === null ? kills.delete(taskId) : kills.set(taskId, kill)),
    stopping,
  };
  const queue = (await jobTasks(store.db, jobId, ["queued"])).sort((a, b) => b.estimatedSeconds - a.estimatedSeconds);
  let cancelled = false;
  const watcher = setInterval(() => {
    void getJob(store.db, jobId).then(
      (job) => {
        if (job?.status !== "cancelled") return;
        cancelled = true;
        for (const kill of kills.values()) kill();
      },
      () => undefined,
    );
  }, 500);
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.workers, queue.length)) }, async () => {
        for (let task = queue.shift(); task !== undefined && !cancelled && !stopping(); task = queue.shift()) {
          await executeTask(ctx, task);
          if (options.onProgress !== undefined) {
            const job = await getJob(store.db, jobId);
            if (job !== null) options.onProgress(job);
          }
        }
      }),
    );
  } finally {
    clearInterval(watcher);
    await ctx.trees.clear();
  }
  return (await getJob(store.db, jobId))!;
}

/** Waits for a job that other workers run, reporting its progress; returns it once it has ended (or as it is after `maxSeconds`). */
export async function waitForJob(
  store: Store,
  jobId: number,
  options: { onProgress?: (job: ReplayJob) => void; intervalMs?: number; maxSeconds?: number } = {},
): Promise<ReplayJob> {
  const deadline = options.maxSeconds === undefined ? Infinity : Date.now() + options.maxSeconds * 1000;
  for (;;) {
    const job = await getJob(store.db, jobId);
    if (job === null) throw new FlorError(`replay job ${jobId} does not exist`);
    options.onProgress?.(job);
    if (hasEnded(job.status) || Date.now() >= deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 250, deadline - Date.now())));
  }
}
