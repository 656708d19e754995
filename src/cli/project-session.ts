import { findRepositoryRoot, layoutFor, type ProjectLayout } from "../project-layout.js";
import { ingest, type IngestReport } from "../store/ingest.js";
import { openStore, type Store } from "../store/open-store.js";

export interface ProjectSession {
  layout: ProjectLayout;
  store: Store;
  /** What the automatic ingest at start found. */
  ingested: IngestReport;
}

/**
 * Opens the project around the working directory and brings the store up to date with the journals,
 * so no command ever reads stale data and nobody has to remember an ingest step.
 */
export async function withProject<T>(
  command: string,
  work: (session: ProjectSession) => Promise<T>,
  options: { rebuild?: boolean; waitSeconds?: number } = {},
): Promise<T> {
  const layout = layoutFor(findRepositoryRoot(process.cwd()));
  const store = await openStore(layout, {
    command: `flor ${command}`,
    ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
  });
  try {
    const ingested = await ingest(store, layout, options);
    if (command !== "ingest") for (const problem of ingested.problems) process.stderr.write(`flor: warning: ${problem}\n`);
    return await work({ layout, store, ingested });
  } finally {
    await store.close();
  }
}
