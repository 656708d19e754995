import type { ProjectSession } from "../app/project-session.js";
import { daemonSocketPath } from "./daemon-paths.js";
import { DaemonServer } from "./daemon-server.js";
import type { StoreIngests } from "./store-ingests.js";

/**
 * The daemon's socket, served by `flor serve` while it holds the embedded store: commands (ingest,
 * dataframe and replay's dry run included) then go through it as they would through the daemon. Without
 * it (it could not listen), commands reach the server over GraphQL, as with FLOR_NO_DAEMON=1.
 */
export async function serveDaemonSocket(session: ProjectSession, ingests: StoreIngests): Promise<DaemonServer | null> {
  try {
    return await DaemonServer.listen({
      session,
      layout: session.layout,
      ingests,
      host: "serve",
      socketPath: daemonSocketPath(session.layout),
    });
  } catch (error) {
    process.stderr.write(`flor: warning: commands reach this server over GraphQL only: ${(error as Error).message}\n`);
    return null;
  }
}
