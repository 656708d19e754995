import { availableParallelism } from "node:os";
import { ProjectSession } from "../app/project-session.js";
import { findRepositoryRoot, layoutFor } from "../project-layout.js";
import { openStore } from "../store/open-store.js";
import { liveHolder } from "../store/pglite-lock.js";
import { activeJobs } from "../store/queries/replay-jobs.js";
import type { StartMessage } from "./daemon-client.js";
import { DAEMON_COMMAND, daemonSocketPath, idleSeconds } from "./daemon-paths.js";
import { encodeError } from "./daemon-protocol.js";
import { DaemonServer } from "./daemon-server.js";
import { storeIngests } from "./store-ingests.js";

/** How long requests in flight get to finish once the daemon stops. */
const DRAIN_SECONDS = 5;
/** How often the daemon looks at whether it is idle and still owns its socket. */
const CHECK_MS = 1000;

const log = (message: string): void => void process.stderr.write(`${new Date().toISOString()} [pid ${process.pid}] ${message}\n`);

/**
 * `flor daemon run`, started in the background by the first command that needs the embedded store:
 * holds the store and answers commands on the private socket until it has been idle for
 * FLOR_DAEMON_IDLE_SECONDS (no request, no replay running), gets SIGTERM (`flor daemon stop`, or a
 * process that needs the store itself) or SIGINT, a command of another build asks, or its socket or
 * project disappears. It tells the command that started it, over the IPC channel, when it listens or why it cannot.
 * Replays left unfinished by a process that stopped are not resumed here: as with commands, the next
 * request for one takes it over (a daemon starts for any command, which should not set replays off).
 */
export async function runDaemon(): Promise<void> {
  const tell = (message: StartMessage): void => {
    // The command may have gone already (it saw the socket listen first): nothing to tell then.
    if (process.send !== undefined && process.connected) process.send(message, undefined, {}, () => undefined);
  };
  let started: { server: DaemonServer; session: ProjectSession; idle: number };
  let closeStore: () => Promise<void>;
  try {
    const layout = layoutFor(findRepositoryRoot(process.cwd()));
    const idle = idleSeconds();
    const socketPath = daemonSocketPath(layout);
    // What the first commands need loads while PGlite starts (its WebAssembly compiles off this thread),
    // unless the store is taken and this daemon is about to give up.
    const warming =
      liveHolder(layout.databaseLock) === null
        ? Promise.all([import("../store/ingest.js"), import("../florql/query-service.js"), import("../florql/explain.js")])
        : Promise.resolve();
    const opening = performance.now();
    const store = await openStore(layout, { command: DAEMON_COMMAND, takeOver: false });
    const opened = performance.now();
    closeStore = () => store.close();
    try {
      await warming;
      const session = await ProjectSession.over(store, layout, {
        workers: availableParallelism(),
        lifetime: "server",
        notify: log,
      });
      const ingests = storeIngests(session.project, layout, (problem) => log(`warning: ${problem}`));
      let stop: () => void = () => undefined;
      const server = await DaemonServer.listen({
        session,
        layout,
        ingests,
        host: "daemon",
        socketPath,
        idleExitSeconds: idle,
        onStop: () => stop(),
      });
      started = { server, session, idle };
      const stopped = lifetime(started, (resolve) => {
        stop = () => resolve("a command of another build asked");
      });
      log(
        `holding ${layout.databaseDir} for ${layout.root}; listening on ${socketPath}; idle exit after ${idle} s ` +
          `(ready ${Math.round(performance.now())} ms after the process started: modules ${Math.round(opening)} ms, store ${Math.round(opened - opening)} ms)`,
      );
      tell({ ready: true });
      if (process.connected) process.disconnect();
      log(`stopping: ${await stopped}`);
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  } catch (error) {
    log(`cannot start: ${(error as Error).message}`);
    tell({ error: encodeError(error) });
    process.exitCode = 1;
    return;
  }
  const { server, session } = started;
  // No new requests; replays stop (their tasks go back to the queue for the next holder), so the
  // requests waiting for them end; the rest get a few seconds.
  const closed = server.close(DRAIN_SECONDS);
  await session.close().catch((error: Error) => log(`stopping replays: ${error.message}`));
  await closed;
  // A removed project has no store left to close.
  await closeStore().catch((error: Error) => log(`closing the store: ${error.message}`));
  log("stopped");
}

/** Resolves with why the daemon stops: a signal, idleness, its socket gone, or `ask` (a request to stop). */
function lifetime(
  { server, session, idle }: { server: DaemonServer; session: ProjectSession; idle: number },
  ask: (resolve: (reason: string) => void) => void,
): Promise<string> {
  return new Promise((resolve) => {
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      void (async () => {
        if (!server.ownsSocket()) finish("its socket was removed");
        else if (server.idleMs() > idle * 1000 && (await activeJobs(session.project)).length === 0) finish(`idle for ${idle} s`);
      })()
        .catch((error: Error) => finish(`the store failed: ${error.message}`))
        .finally(() => {
          checking = false;
        });
    }, CHECK_MS);
    const onSignal = (signal: NodeJS.Signals): void => finish(signal);
    const finish = (reason: string): void => {
      clearInterval(timer);
      process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
      resolve(reason);
    };
    process.on("SIGTERM", onSignal).on("SIGINT", onSignal);
    ask(finish);
  });
}
