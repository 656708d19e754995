import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ProjectLayout } from "../project-layout.js";
import type { Store } from "../store/open-store.js";
import { listEvents, type ReplayJob } from "../replay/replay-jobs.js";
import { ReplayQueue } from "../replay/replay-queue.js";
import { runJobLocally, waitForJob } from "../replay/replay-service.js";
import { jobProblemLines } from "./command-text.js";
import { ReplayProgress } from "./progress.js";

/** Runs the job here (embedded store), or through the queue on a PostgreSQL server with `workers` local workers besides any `flor worker`. */
export async function runJob(store: Store, layout: ProjectLayout, jobId: number, fresh: boolean, workers: number): Promise<ReplayJob> {
  const progress = new ReplayProgress();
  try {
    if (store.kind !== "postgres")
      return await runJobLocally(store, layout, jobId, { workers: Math.max(1, workers), onProgress: (job) => progress.update(job) });
    const queue = await ReplayQueue.connect(process.env["FLOR_DATABASE_URL"]!, layout.projid);
    try {
      if (fresh) await queue.enqueue(store, jobId);
      const ctx = workers > 0 ? await queue.work(store, layout, workers) : undefined;
      if (workers === 0) process.stderr.write(`flor: job ${jobId} is queued for \`flor worker\` processes\n`);
      const job = await waitForJob(store, jobId, { onProgress: (job) => progress.update(job) });
      await queue.stop(ctx);
      return job;
    } catch (error) {
      await queue.stop();
      throw error;
    }
  } finally {
    progress.end();
  }
}

/**
 * Starts a job without waiting for it (`--replay async`): on a PostgreSQL server its tasks go to the
 * queue for `flor worker` processes; on the embedded store a detached `flor replay --job N` runs them as
 * soon as this command releases the store.
 */
export async function startJob(store: Store, layout: ProjectLayout, jobId: number, workers: number): Promise<string> {
  if (store.kind === "postgres") {
    const queue = await ReplayQueue.connect(process.env["FLOR_DATABASE_URL"]!, layout.projid);
    try {
      await queue.enqueue(store, jobId);
    } finally {
      await queue.stop();
    }
    return `replay job ${jobId} is queued for \`flor worker\` processes`;
  }
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/flor.js");
  const child = spawn(process.execPath, [bin, "replay", "--job", String(jobId), "--workers", String(Math.max(1, workers))], {
    cwd: layout.root,
    detached: true,
    stdio: "ignore",
    env: process.env,
  });
  child.unref();
  return `replay job ${jobId} runs in the background (pid ${child.pid}); \`flor query\` again shows its values as they land`;
}

/** What went wrong in a job, one line per failed task or fallback, for stderr. */
export async function jobProblems(store: Store, jobId: number): Promise<string> {
  return jobProblemLines(await listEvents(store.db, jobId));
}
