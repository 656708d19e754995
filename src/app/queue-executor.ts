import type { ProjectLayout } from "../project-layout.js";
import type { WorkerContext } from "../replay/execute-task.js";
import type { ReplayQueue } from "../replay/replay-queue.js";
import { waitForJob } from "../replay/replay-service.js";
import type { ProjectStore } from "../store/project-store.js";
import type { ReplayJob } from "../store/queries/replay-jobs.js";
import type { ReplayExecutor, RunOptions, StartedReplay } from "./replay-executor.js";

/**
 * Replays through the pg-boss job queue on the store's PostgreSQL server (connecting with the store's
 * own connection settings, when first needed): `flor worker` processes anywhere share the tasks, and
 * this process works `workers` of them at a time while it waits for a job (a server: while it runs).
 */
export class QueueExecutor implements ReplayExecutor {
  readonly kind = "queue";
  private queue: Promise<ReplayQueue> | null = null;
  /** What this process works while it serves, or null. */
  private working: WorkerContext | null = null;

  constructor(
    private readonly project: ProjectStore,
    private readonly layout: ProjectLayout,
    private readonly serverUrl: string,
    private readonly workers: number,
    private readonly lifetime: "command" | "server",
    private readonly notify: (message: string) => void,
  ) {}

  async start(jobId: number, fresh: boolean): Promise<StartedReplay> {
    // A job requested before is queued already.
    if (fresh) await (await this.connected()).enqueue(this.project, jobId);
    return { jobId, runner: "queue", pid: null };
  }

  async run(jobId: number, fresh: boolean, options: RunOptions = {}): Promise<ReplayJob> {
    await this.start(jobId, fresh);
    // A command works tasks only while it waits; a server works them all along (see resume).
    const helping = this.lifetime === "command" && this.workers > 0 ? await this.work() : null;
    if (this.lifetime === "command" && this.workers === 0) this.notify(`job ${jobId} is queued for \`flor worker\` processes`);
    try {
      return await waitForJob(this.project, jobId, {
        ...(this.lifetime === "server" ? { intervalMs: 200 } : {}),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        ...(options.maxSeconds === undefined ? {} : { maxSeconds: options.maxSeconds }),
      });
    } finally {
      if (helping !== null) await this.stop();
    }
  }

  /** Works the project's queued tasks, `workers` at a time, alongside any `flor worker`, until stop(). */
  async resume(): Promise<number[]> {
    await this.work();
    return [];
  }

  /** Works tasks as `flor worker` does, `onTask` hearing how each ended. */
  async work(onTask?: (taskId: number, outcome: string) => void): Promise<WorkerContext> {
    this.working ??= await (await this.connected()).work(this.project, this.layout, this.workers, onTask);
    return this.working;
  }

  async stop(): Promise<void> {
    const queue = this.queue;
    if (queue === null) return;
    this.queue = null;
    const working = this.working;
    this.working = null;
    // A queue that never connected failed its caller already.
    await (await queue.catch(() => null))?.stop(working ?? undefined);
  }

  private connected(): Promise<ReplayQueue> {
    // pg-boss loads only when a replay needs the queue.
    this.queue ??= import("../replay/replay-queue.js").then(({ ReplayQueue }) =>
      ReplayQueue.connect(this.serverUrl, this.project.projid, this.notify),
    );
    return this.queue;
  }
}
