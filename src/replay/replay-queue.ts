import { hostname } from "node:os";
import PgBoss from "pg-boss";
import type { ProjectLayout } from "../project-layout.js";
import type { ProjectStore } from "../store/project-store.js";
import { executeTask, TreeCache, type WorkerContext } from "./execute-task.js";
import { TaskHosts } from "./task-hosts.js";
import { getTask, jobTasks, requeueTask } from "../store/queries/replay-tasks.js";

interface TaskMessage {
  jobId: number;
  taskId: number;
}

/** A task whose worker vanished (machine lost, process killed) is handed to another worker after this long. */
const EXPIRE_SECONDS = 6 * 3600;

/**
 * Replay tasks delivered through pg-boss on the PostgreSQL server, so that `flor worker` processes on
 * any machine with a clone of the repository (and the checkpoint objects) share a job. The store's
 * replay_tasks rows stay the record of status and progress; the queue only hands tasks out. Its
 * tables live in their own schema on the same server.
 */
export class ReplayQueue {
  private constructor(
    private readonly boss: PgBoss,
    private readonly name: string,
  ) {}

  /** Connects with the store server's connection settings; `onError` hears the queue's background failures. */
  static async connect(databaseUrl: string, projid: string, onError: (message: string) => void): Promise<ReplayQueue> {
    const boss = new PgBoss({ connectionString: databaseUrl, schema: "flor_queue", max: 4, supervise: true, schedule: false });
    boss.on("error", (error) => onError(`job queue: ${error.message}`));
    await boss.start();
    const name = `flor-replay.${projid.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
    if ((await boss.getQueue(name)) === null) {
      try {
        await boss.createQueue(name, { name, retryLimit: 2, retryDelay: 1, expireInSeconds: EXPIRE_SECONDS });
      } catch (error) {
        if ((await boss.getQueue(name)) === null) throw error; // not a race with another worker creating it
      }
    }
    return new ReplayQueue(boss, name);
  }

  /** Hands a job's queued tasks to the queue, longest first. */
  async enqueue(project: ProjectStore, jobId: number): Promise<number> {
    const tasks = (await jobTasks(project.db, jobId, ["queued"])).sort((a, b) => b.estimatedSeconds - a.estimatedSeconds);
    if (tasks.length === 0) return 0;
    await this.boss.insert(
      tasks.map((task, index) => ({
        name: this.name,
        data: { jobId, taskId: task.id } satisfies TaskMessage,
        priority: tasks.length - index,
      })),
    );
    return tasks.length;
  }

  /**
   * Works tasks with `concurrency` child processes until `stop()` is called; `onTask` hears each ending.
   * A task this queue hands out again (its worker vanished) is taken over from the running state.
   */
  async work(
    project: ProjectStore,
    layout: ProjectLayout,
    concurrency: number,
    onTask?: (taskId: number, outcome: string) => void,
  ): Promise<WorkerContext> {
    const ctx: WorkerContext = {
      project,
      layout,
      worker: `${hostname()}:${process.pid}`,
      trees: new TreeCache(layout.root),
      hosts: new TaskHosts(),
    };
    for (let i = 0; i < Math.max(1, concurrency); i++) {
      await this.boss.work<TaskMessage>(this.name, { batchSize: 1, pollingIntervalSeconds: 0.5, includeMetadata: true }, async ([job]) => {
        if (job === undefined) return;
        const task = await getTask(project.db, job.data.taskId);
        if (task === null) return;
        if (task.status === "running" && job.retryCount > 0) {
          await requeueTask(project.db, task.id, false);
          task.status = "queued";
        }
        if (task.status !== "queued") return;
        // Not `onTask?.(id, await executeTask(...))`: without a listener, `?.()` would skip evaluating its arguments.
        const outcome = await executeTask(ctx, task);
        onTask?.(task.id, outcome);
      });
    }
    return ctx;
  }

  async stop(ctx?: WorkerContext): Promise<void> {
    await this.boss.offWork(this.name).catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    await ctx?.hosts?.close();
    await ctx?.trees.clear();
  }
}
