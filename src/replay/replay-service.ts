import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { FlorError } from "../errors.js";
import type { JsonValue } from "../journal/records.js";
import type { ProjectLayout } from "../project-layout.js";
import type { ProjectStore } from "../store/project-store.js";
import { createJob, currentJobFor, getJob, hasEnded, type ReplayJob } from "../store/queries/replay-jobs.js";
import { jobTasks, requeueRunningTasks } from "../store/queries/replay-tasks.js";
import type { ReplayPlan, ReplayRequest } from "./replay-plan.js";
import { executeTask, TreeCache, type WorkerContext } from "./execute-task.js";
import { TaskHosts, warmTasksEnabled } from "./task-hosts.js";

export interface RequestedReplay {
  jobId: number;
  /** Whether the job is new; false when an identical request's job (running, or finished since planning) is returned instead. */
  fresh: boolean;
}

/**
 * Stores a planned replay as a job with queued tasks. Idempotent while the job runs: the same request
 * (names, scope) returns the running job rather than starting a second one, and so does a request
 * planned while that job ran, once it has finished (the plan could not see the values it stored).
 * `plan` is the plan made for `request`; nothing is planned again.
 */
export async function requestReplay(project: ProjectStore, plan: ReplayPlan, request: ReplayRequest): Promise<RequestedReplay> {
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
  const current = await currentJobFor(project, fingerprint, new Date(plan.plannedAt));
  if (current !== null) return { jobId: current, fresh: false };
  const jobId = await project.store.transaction((tx) =>
    createJob(tx, project.projectId, {
      request: JSON.parse(JSON.stringify({ names: plan.names, filename: request.filename ?? null, where: plan.where })) as JsonValue,
      fingerprint,
      plan: summarizePlan(plan),
      workers: plan.estimate.workers,
      estimatedSeconds: plan.estimate.wallSeconds,
      tasks: plan.tasks,
    }),
  );
  return { jobId, fresh: true };
}

/** The plan without the tasks' patched sources (those are for workers, not people): as kept with the job. */
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

export interface LocalRunOptions {
  workers: number;
  /** Task processes started for this job ahead of it (while it was planned); the run closes them. */
  hosts?: TaskHosts;
  /** Called after each task ends, with the job's state. */
  onProgress?: (job: ReplayJob) => void;
}

/**
 * Runs a job's queued tasks here, `workers` child processes at a time, longest first; stops the
 * running children when the job is cancelled. Returns the job as it ended.
 */
export function runJobLocally(project: ProjectStore, layout: ProjectLayout, jobId: number, options: LocalRunOptions): Promise<ReplayJob> {
  const { store } = project;
  // One runner per job in a process: a second request for a job this process already runs joins it.
  let running = localRuns.get(store)?.get(jobId);
  // Joining a run that has its own task processes: the ones started for this request are not needed.
  if (running !== undefined) void options.hosts?.close();
  if (running === undefined) {
    running = runHere(project, layout, jobId, options).finally(() => localRuns.get(store)?.delete(jobId));
    (localRuns.get(store) ?? localRuns.set(store, new Map()).get(store)!).set(jobId, running);
  }
  return running;
}

const localRuns = new WeakMap<object, Map<number, Promise<ReplayJob>>>();
const stoppers = new WeakMap<object, Set<() => void>>();

/**
 * Stops the jobs this process runs on the project's store, before the store closes: running children
 * are killed and their tasks queued again (a later runner takes the jobs over), nothing is marked failed.
 */
export async function stopLocalRuns(project: ProjectStore): Promise<void> {
  for (const stop of stoppers.get(project.store) ?? []) stop();
  await Promise.allSettled([...(localRuns.get(project.store)?.values() ?? [])]);
}

async function runHere(project: ProjectStore, layout: ProjectLayout, jobId: number, options: LocalRunOptions): Promise<ReplayJob> {
  const kills = new Map<number, () => void>();
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    for (const kill of kills.values()) kill();
  };
  const { store } = project;
  (stoppers.get(store) ?? stoppers.set(store, new Set()).get(store)!).add(stop);
  try {
    return await runTasks(project, layout, jobId, options, kills, () => stopping);
  } finally {
    stoppers.get(store)?.delete(stop);
  }
}

async function runTasks(
  project: ProjectStore,
  layout: ProjectLayout,
  jobId: number,
  options: LocalRunOptions,
  kills: Map<number, () => void>,
  stopping: () => boolean,
): Promise<ReplayJob> {
  const { db } = project;
  // The embedded store has one process at a time, and this process runs the job only here: a task
  // marked running belongs to a process that stopped, and would otherwise keep the job open forever.
  if (project.store.kind === "pglite") await requeueRunningTasks(db, jobId);
  const hosts = options.hosts ?? new TaskHosts();
  const ctx: WorkerContext = {
    project,
    layout,
    worker: `${hostname()}:${process.pid}`,
    trees: new TreeCache(layout.root),
    hosts,
    onChild: (taskId, kill) => (kill === null ? kills.delete(taskId) : kills.set(taskId, kill)),
    stopping,
  };
  const queue = (await jobTasks(db, jobId, ["queued"])).sort((a, b) => b.estimatedSeconds - a.estimatedSeconds);
  // No more workers than the plan found worth starting (another one pays its processes' start).
  const worth = (await getJob(db, jobId))?.workers ?? options.workers;
  const workers = Math.max(1, Math.min(options.workers, worth, queue.length));
  // The workers' task processes start (for their first tasks), and the code versions are checked out, at once rather than one after the other.
  if (warmTasksEnabled())
    hosts.prestart(
      layout.root,
      queue
        .filter((task) => task.spec.fresh !== true)
        .slice(0, workers)
        .map((task) => task.spec.run.filename),
    );
  ctx.trees.prefetch(queue.map((task) => task.spec));
  let cancelled = false;
  const watcher = setInterval(() => {
    void getJob(db, jobId).then(
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
      Array.from({ length: workers }, async () => {
        for (let task = queue.shift(); task !== undefined && !cancelled && !stopping(); task = queue.shift()) {
          await executeTask(ctx, task);
          if (options.onProgress !== undefined) {
            const job = await getJob(db, jobId);
            if (job !== null) options.onProgress(job);
          }
        }
      }),
    );
  } finally {
    clearInterval(watcher);
    await ctx.hosts?.close();
    await ctx.trees.clear();
  }
  return (await getJob(db, jobId))!;
}

/** Waits for a job that other workers run, reporting its progress; returns it once it has ended (or as it is after `maxSeconds`). */
export async function waitForJob(
  project: ProjectStore,
  jobId: number,
  options: { onProgress?: (job: ReplayJob) => void; intervalMs?: number; maxSeconds?: number; ended?: Promise<unknown> } = {},
): Promise<ReplayJob> {
  // Its settling (either way) wakes one wait early; the job's state is read from the store all the same
  // (a runner that stopped leaves the job to others, and polling goes on).
  let ended = options.ended?.then(
    () => undefined,
    () => undefined,
  );
  const deadline = options.maxSeconds === undefined ? Infinity : Date.now() + options.maxSeconds * 1000;
  for (;;) {
    const job = await getJob(project.db, jobId);
    if (job === null) throw new FlorError(`replay job ${jobId} does not exist`);
    options.onProgress?.(job);
    if (hasEnded(job.status) || Date.now() >= deadline) return job;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.min(options.intervalMs ?? 250, deadline - Date.now()));
      }),
      ...(ended === undefined ? [] : [ended.then(() => (ended = undefined))]),
    ]);
    clearTimeout(timer);
  }
}
