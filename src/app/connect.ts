import { daemonDisabled } from "../daemon/daemon-paths.js";
import { configuredServerUrl } from "../store/server-url.js";
import type { FlorApi } from "./flor-api.js";
import type { OpenOptions } from "./project-session.js";
import type { StoreApi } from "./store-api.js";

/**
 * FlorDB's API for the project around the working directory. On the embedded store (which admits one
 * process): through the daemon that holds it (or `flor serve`, which serves the daemon's socket too),
 * started by the first command; with FLOR_NO_DAEMON=1 through a running `flor serve`'s GraphQL, else the
 * project's session opened in this process. On a PostgreSQL server, every command opens it itself.
 * The one place that chooses the transport.
 */
export async function connectApi(options: OpenOptions): Promise<FlorApi> {
  const daemon = await viaDaemon(options);
  if (daemon !== null) return daemon;
  // The remote path loads no database code or query language: only what talks GraphQL.
  const { RemoteApi } = await import("./remote-api.js");
  const remote = RemoteApi.find();
  if (remote !== null) return remote;
  const [{ LocalApi }, { ProjectSession }] = await Promise.all([import("./local-api.js"), import("./project-session.js")]);
  return new LocalApi(await ProjectSession.open(options));
}

/** What only the process holding the store does: through the daemon, or with the store opened here. */
export async function connectStore(options: OpenOptions): Promise<StoreApi> {
  try {
    const daemon = await viaDaemon(options);
    if (daemon !== null) return daemon;
  } catch (error) {
    // A daemon cannot start on a damaged store; a rebuild opens it here, which sets the damaged files aside.
    if (options.rebuild !== true) throw error;
  }
  const [{ SessionStoreApi }, { ProjectSession }] = await Promise.all([import("./store-api.js"), import("./project-session.js")]);
  return new SessionStoreApi(await ProjectSession.open(options), options.rebuild === true);
}

async function viaDaemon(options: OpenOptions) {
  if (configuredServerUrl() !== null || daemonDisabled()) return null;
  const { DaemonApi } = await import("../daemon/daemon-api.js");
  return DaemonApi.connect(options);
}
