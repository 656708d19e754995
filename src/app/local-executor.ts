import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ProjectLayout } from "../project-layout.js";
import { runJobLocally, stopLocalRuns, waitForJob } from "../replay/replay-service.js";
import type { ProjectStore } from "../store/project-store.js";
import { activeJobs, type ReplayJob } from "../store/queries/replay-jobs.js";
import type { ReplayExecutor, RunOptions, StartedReplay } from "./replay-executor.js";

/**
 * Replays in child processes of this machine, for the embedded store (one process holds it). A
 * command runs a job itself and hands a job it does not wait for to a detached `flor replay --job N`,
 * which takes the store once the command lets go of it; a server runs jobs in the background itself.
 */
export class LocalExecutor implements ReplayExecutor {
  readonly kind = "local";

  constructor(
    private readonly project: ProjectStore,
    private readonly layout: ProjectLayout,
    private readonly workers: number,
    private readonly lifetime: "command" | "server",
  ) {}

  async start(jobId: number): Promise<StartedReplay> {
    if (this.lifetime === "server") {
      // Failures are not lost: the job's status and error record them.
      void this.runHere(jobId).catch(() => undefined);
      return { jobId, runner: "server", pid: process.pid };
    }
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/flor.js");
    const child = spawn(process.execPath, [bin, "replay", "--job", String(jobId), "--workers", String(Math.max(1, this.workers))], {
      cwd: this.layout.root,
      detached: true,
      stdio: "ignore",
      env: process.env,
    });
    child.unref();
    return { jobId, runner: "background", pid: child.pid ?? null };
  }

  async run(jobId: number, _fresh: boolean, options: RunOptions = {}): Promise<ReplayJob> {
    if (this.lifetime === "command") return this.runHere(jobId, options.onProgress);
    // Run here in the background (or join this process's run of it), and answer as soon as it ends, not at the next poll.
    const running = this.runHere(jobId);
    running.catch(() => undefined);
    return waitForJob(this.project, jobId, {
      intervalMs: 200,
      ended: running,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.maxSeconds === undefined ? {} : { maxSeconds: options.maxSeconds }),
    });
  }

  /** Jobs left queued or running were left by a process that stopped (the store lock keeps others out): they go on here. */
  async resume(): Promise<number[]> {
    const jobs = await activeJobs(this.project);
    for (const jobId of jobs) void this.runHere(jobId).catch(() => undefined);
    return jobs;
  }

  stop(): Promise<void> {
    return stopLocalRuns(this.project);
  }

  private runHere(jobId: number, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob> {
    return runJobLocally(this.project, this.layout, jobId, {
      workers: Math.max(1, this.workers),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
  }
}
