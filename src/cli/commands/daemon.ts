import { hostname } from "node:os";
import { DaemonClient, waitForExit } from "../../daemon/daemon-client.js";
import { DAEMON_COMMAND, daemonDisabled } from "../../daemon/daemon-paths.js";
import type { DaemonStatus } from "../../daemon/daemon-server.js";
import { FlorError, FlorUsageError } from "../../errors.js";
import { findRepositoryRoot, layoutFor, type ProjectLayout } from "../../project-layout.js";
import { liveHolder } from "../../store/pglite-lock.js";
import { configuredServerUrl } from "../../store/server-url.js";
import type { OutputFormat } from "../output.js";

export type DaemonAction = "start" | "status" | "stop";

/**
 * `flor daemon start|status|stop`: the background process that holds the project's embedded store for
 * commands. `start` is never needed (the first command starts it) but lets a tool warm it up; `status`
 * says who holds the store; `stop` has the daemon finish what it answers and let go of the store.
 */
export async function daemonCommand(action: DaemonAction, format: OutputFormat): Promise<string> {
  if (format === "csv") throw new FlorUsageError("flor daemon prints text or --format json");
  const layout = layoutFor(findRepositoryRoot(process.cwd()));
  const without = withoutDaemon();
  if (action === "start") {
    if (without !== null) throw new FlorError(`no daemon to start: ${without}`);
    const client = await DaemonClient.connect(layout);
    if (client === null) throw new FlorError(heldBy(layout) ?? `the embedded store ${layout.databaseDir} is held by another process`);
    return describe(await client.request<DaemonStatus>("status", []), layout, format);
  }
  const client = await DaemonClient.find(layout);
  if (action === "status") {
    if (client !== null) return describe(await client.request<DaemonStatus>("status", []), layout, format);
    if (format === "json") return "null\n";
    const held = heldBy(layout);
    return `no flor daemon runs for ${layout.root}${without === null ? "" : ` (${without})`}${held === null ? "" : `; ${held}`}\n`;
  }
  // SIGTERM, as a process that needs the store sends it: the daemon finishes what it answers and lets go.
  // The lock names the daemon even while it starts, before it listens.
  const holder = liveHolder(layout.databaseLock);
  if (holder === null || holder.command !== DAEMON_COMMAND || holder.host !== hostname()) {
    if (holder?.command === "flor serve")
      throw new FlorError(`\`flor serve\` (pid ${holder.pid}) holds the store, not a daemon`, { hint: "Stop it with Ctrl-C." });
    return `no flor daemon runs for ${layout.root}\n`;
  }
  process.kill(holder.pid, "SIGTERM");
  await waitForExit(holder.pid);
  return `stopped the flor daemon (pid ${holder.pid}) of ${layout.root}\n`;
}

/** Why commands open the store themselves, when they do. */
function withoutDaemon(): string | null {
  if (configuredServerUrl() !== null) return "FLOR_DATABASE_URL names a PostgreSQL server, which every command opens itself";
  if (daemonDisabled()) return "FLOR_NO_DAEMON is set: every command opens the embedded store itself";
  return null;
}

function heldBy(layout: ProjectLayout): string | null {
  const holder = liveHolder(layout.databaseLock);
  return holder === null
    ? null
    : `the embedded store is held by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

function describe(status: DaemonStatus, layout: ProjectLayout, format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(status, null, 2)}\n`;
  const who = status.host === "daemon" ? `the flor daemon (pid ${status.pid})` : `\`flor serve\` (pid ${status.pid})`;
  return [
    `${who} holds the embedded store of ${layout.root} and answers commands`,
    `  since ${status.started}; ${status.served} requests answered`,
    `  socket ${status.socket}`,
    `  memory ${Math.round(status.rssBytes / 2 ** 20)} MB resident (${Math.round(status.heapBytes / 2 ** 20)} MB JavaScript heap)`,
    ...(status.idleExitSeconds === null
      ? []
      : [`  exits after ${status.idleExitSeconds} s without commands or replays (FLOR_DAEMON_IDLE_SECONDS)`]),
    "",
  ].join("\n");
}
