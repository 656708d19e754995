import { journalRefresher } from "../cli/serve-refresh.js";
import type { ProjectLayout } from "../project-layout.js";
import { ingest, type IngestReport } from "../store/ingest.js";
import type { ProjectStore } from "../store/project-store.js";

/**
 * Every ingest of a long-lived process holding the store (the daemon, `flor serve`), one at a time: two
 * ingests reading the same journal at once would store its records twice.
 */
export interface StoreIngests {
  /**
   * Ingests what the journals gained since the last time (a handful of system calls when nothing did).
   * Malformed lines it finds go to `onProblem` as well as to the process's own listener.
   */
  refresh(onProblem?: (problem: string) => void): Promise<void>;
  /** An explicit ingest (every journal again with `rebuild`), reported in full. */
  ingest(rebuild: boolean): Promise<IngestReport>;
}

export function storeIngests(project: ProjectStore, layout: ProjectLayout, onProblem: (problem: string) => void): StoreIngests {
  // Problems reach every request waiting for the ingest that found them.
  const listeners = new Set<(problem: string) => void>();
  const refresher = journalRefresher(project, layout, (problem) => {
    onProblem(problem);
    for (const listener of listeners) listener(problem);
  });
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    async refresh(listener) {
      if (listener !== undefined) listeners.add(listener);
      try {
        await exclusive(refresher);
      } finally {
        if (listener !== undefined) listeners.delete(listener);
      }
    },
    ingest: (rebuild) => exclusive(() => ingest(project.store, layout, { rebuild })),
  };
}
