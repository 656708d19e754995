import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ProjectLayout } from "../project-layout.js";
import { runJobLocally, stopLocalRuns, waitForJob } from "../replay/replay-service.js";
import { runsUnderTsx } from "../replay/child-process.js";
import { TaskHosts, warmTasksEnabled } from "../replay/task-hosts.js";
import type { ProjectStore } from "../store/project-store.js";
import { activeJobs, type ReplayJob } from "../store/queries/replay-jobs.js";
import type { ReplayExecutor, RunOptions, StartedReplay } from "./replay-executor.js";

/** How long task processes started for a planned replay wait for its job before they are closed. */
const PREPARED_SECONDS = 30;

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

  /** Task processes started while a replay was planned, for the job that follows; closed when no job takes them soon. */
  private prepared: TaskHosts | null = null;

  prepare(scripts: readonly string[]): void {
    if (!warmTasksEnabled() || scripts.length === 0) return;
    if (this.prepared === null) {
      const hosts = new TaskHosts();
      this.prepared = hosts;
      setTimeout(() => {
        if (this.prepared === hosts) void this.takePrepared()?.close();
      }, PREPARED_SECONDS * 1000).unref();
    }
    // One process of each kind the scripts run under: the job's first task waits for no start.
    this.prepared.prestart(this.layout.root, [...new Map(scripts.map((script) => [runsUnderTsx(script), script])).values()]);
  }

  async start(jobId: number): Promise<StartedReplay> {
    if (this.lifetime === "server") {
      // Failures are not lost: the job's status and error record them.
      void this.runHere(jobId).catch(() => undefined);
      return { jobId, runner: "server", pid: process.pid };
    }
    // The job runs in a process of its own, which starts its own task processes.
    void this.takePrepared()?.close();
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

  async stop(): Promise<void> {
    await this.takePrepared()?.close();
    return stopLocalRuns(this.project);
  }

  private runHere(jobId: number, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob> {
    const hosts = this.takePrepared();
    return runJobLocally(this.project, this.layout, jobId, {
      workers: Math.max(1, this.workers),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(hosts === null ? {} : { hosts }),
    });
  }

  private takePrepared(): TaskHosts | null {
    const hosts = this.prepared;
    this.prepared = null;
    return hosts;
  }
}
