import { FlorError } from "../../errors.js";
import { ReplayQueue } from "../../replay/replay-queue.js";
import { withProject } from "../project-session.js";

/**
 * `flor worker`: takes replay tasks of this project from the queue on the PostgreSQL server and runs
 * them, `workers` at a time, until interrupted (SIGINT/SIGTERM finish the running tasks first) or,
 * with `--idle-exit S`, once the queue has been empty for S seconds.
 */
export async function workerCommand(workers: number, idleExit: number | undefined): Promise<string> {
  const url = process.env["FLOR_DATABASE_URL"];
  if (!url)
    throw new FlorError("flor worker needs a PostgreSQL server shared with the other machines", {
      hint: "Set FLOR_DATABASE_URL=postgres://... (the embedded store replays in `flor replay` itself).",
    });
  return withProject("worker", async ({ layout, store }) => {
    const queue = await ReplayQueue.connect(url, layout.projid);
    let done = 0;
    let lastActivity = performance.now();
    const ctx = await queue.work(store, layout, workers, (taskId, outcome) => {
      done++;
      lastActivity = performance.now();
      process.stderr.write(`flor worker: task ${taskId} ${outcome}\n`);
    });
    process.stderr.write(`flor worker: waiting for replay tasks of ${layout.projid} (${workers} at a time)\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      if (idleExit !== undefined) {
        const timer = setInterval(() => {
          void store.db
            .selectFrom("replay_tasks as t")
            .innerJoin("replay_jobs as j", "j.id", "t.job_id")
            .innerJoin("projects as p", "p.id", "j.project_id")
            .select("t.id")
            .where("p.projid", "=", layout.projid)
            .where("t.status", "in", ["queued", "running"])
            .limit(1)
            .execute()
            .then(
              (rows) => {
                if (rows.length > 0) lastActivity = performance.now();
                else if (performance.now() - lastActivity > idleExit * 1000) {
                  clearInterval(timer);
                  resolve();
                }
              },
              () => undefined,
            );
        }, 250);
      }
    });
    await queue.stop(ctx);
    return `flor worker: ran ${done} tasks\n`;
  });
}
