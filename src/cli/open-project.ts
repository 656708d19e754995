import type { FlorApi } from "../app/flor-api.js";
import type { OpenOptions, ProjectSession } from "../app/project-session.js";
import type { StoreApi } from "../app/store-api.js";

/** How a command opens the project: as one command, telling the user what ingest and the job queue report. */
function options(command: string, workers: number, extra: Partial<OpenOptions>): OpenOptions {
  return {
    command: `flor ${command}`,
    workers,
    lifetime: "command",
    notify: (message) => process.stderr.write(`flor: ${message}\n`),
    onIngestProblem: (problem) => process.stderr.write(`flor: warning: ${problem}\n`),
    ...extra,
  };
}

/** Runs `work` against FlorDB's API for the project, through the daemon, here or through `flor serve` (see connectApi), and closes it. */
export async function withApi<T>(command: string, workers: number, work: (api: FlorApi) => Promise<T>): Promise<T> {
  const { connectApi } = await import("../app/connect.js");
  const api = await connectApi(options(command, workers, {}));
  try {
    return await work(api);
  } finally {
    await api.close();
  }
}

/** Runs `work` on what only the process holding the store does: through the daemon, or here (see connectStore). */
export async function withStore<T>(
  command: string,
  workers: number,
  work: (api: StoreApi) => Promise<T>,
  extra: Partial<OpenOptions> = {},
): Promise<T> {
  const { connectStore } = await import("../app/connect.js");
  const api = await connectStore(options(command, workers, extra));
  try {
    return await work(api);
  } finally {
    await api.close();
  }
}

/** Runs `work` on the project's session in this process, for a process that holds the store itself (`flor serve`, `flor worker`). */
export async function withSession<T>(
  command: string,
  workers: number,
  work: (session: ProjectSession) => Promise<T>,
  extra: Partial<OpenOptions> = {},
): Promise<T> {
  const { ProjectSession } = await import("../app/project-session.js");
  const session = await ProjectSession.open(options(command, workers, extra));
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
