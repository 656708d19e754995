import type { ProjectSession } from "../../app/project-session.js";
import { QueueExecutor } from "../../app/queue-executor.js";
import { FlorError } from "../../errors.js";
import { configuredServerUrl } from "../../store/server-url.js";
import { hasActiveTasks } from "../../store/queries/replay-tasks.js";
import { withSession } from "../open-project.js";

/**
 * `flor worker`: takes replay tasks of this project from the queue on the PostgreSQL server and runs
 * them, `workers` at a time, until interrupted (SIGINT/SIGTERM finish the running tasks first) or,
 * with `--idle-exit S`, once the queue has been empty for S seconds.
 */
export async function workerCommand(workers: number, idleExit: number | undefined): Promise<string> {
  // Checked before the store opens: without a server this would open (and create) the embedded one.
  if (configuredServerUrl() === null)
    throw new FlorError("flor worker needs a PostgreSQL server shared with the other machines", {
      hint: "Set FLOR_DATABASE_URL=postgres://... (the embedded store replays in `flor replay` itself).",
    });
  return withSession("worker", workers, (session) => work(session, workers, idleExit), { lifetime: "server" });
}

async function work(session: ProjectSession, workers: number, idleExit: number | undefined): Promise<string> {
  const queue = session.executor;
  if (!(queue instanceof QueueExecutor)) throw new FlorError("flor worker needs the job queue of a PostgreSQL store");
  let done = 0;
  let lastActivity = performance.now();
  await queue.work((taskId, outcome) => {
    done++;
    lastActivity = performance.now();
    process.stderr.write(`flor worker: task ${taskId} ${outcome}\n`);
  });
  const why = await new Promise<string>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (reason: string): void => {
      // Whichever ends the wait, the idle check must not outlive it: its interval would keep the process alive.
      clearInterval(timer);
      process.off("SIGINT", interrupted);
      process.off("SIGTERM", interrupted);
      resolve(reason);
    };
    const interrupted = (signal: NodeJS.Signals): void => stop(`${signal}: finishing the running tasks`);
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    // Said only once the handlers are in place: a Ctrl-C right after it must stop the worker, not kill it.
    process.stderr.write(`flor worker: waiting for replay tasks of ${session.project.projid} (${workers} at a time)\n`);
    if (idleExit !== undefined) {
      timer = setInterval(() => {
        void hasActiveTasks(session.project).then(
          (active) => {
            if (active) lastActivity = performance.now();
            else if (performance.now() - lastActivity > idleExit * 1000) stop(`no task queued or running for ${idleExit} s`);
          },
          () => undefined,
        );
      }, 250);
    }
  });
  process.stderr.write(`flor worker: stopping (${why})\n`);
  await queue.stop();
  return `flor worker: ran ${done} tasks\n`;
}
