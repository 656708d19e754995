import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { ProjectLayout } from "../project-layout.js";
import { ingest } from "../store/ingest.js";
import { isAlive } from "../store/pglite-lock.js";
import type { ProjectStore } from "../store/project-store.js";
import { journalStates } from "../store/queries/journals.js";

/** A journal that can still change: its run has not ended, or it is not ingested yet. */
interface OpenJournal {
  file: string;
  owner: { pid: number; host: string } | null;
}

/**
 * What `flor serve` runs before each request: ingests the journals written since the last ingest, so
 * runs recorded while the server runs show up at once. Every request pays for the check, so it is a
 * handful of system calls: the journal directory's mtime (a new journal) and, for the journals that can
 * still change, size, mtime and whether their run's process lives (a killed run becomes incomplete).
 * Ended journals never change and are not looked at. Concurrent requests share one ingest.
 */
export function journalRefresher(project: ProjectStore, layout: ProjectLayout, onProblem: (problem: string) => void): () => Promise<void> {
  let seen: string | null = null;
  let open: OpenJournal[] = [];
  let running: Promise<void> | null = null;

  const fingerprint = (): string => {
    const dir = statSync(layout.journalsDir, { throwIfNoEntry: false });
    if (dir === undefined) return "none";
    let text = String(dir.mtimeMs);
    for (const { file, owner } of open) {
      const stat = statSync(path.join(layout.journalsDir, file), { throwIfNoEntry: false });
      text += `|${file}:${stat?.size ?? -1}:${stat?.mtimeMs ?? -1}:${owner === null || isAlive(owner) ? 1 : 0}`;
    }
    return text;
  };

  const ingestNow = async (before: string): Promise<void> => {
    const report = await ingest(project.store, layout);
    for (const problem of report.problems) onProblem(problem);
    const files =
      statSync(layout.journalsDir, { throwIfNoEntry: false }) === undefined
        ? []
        : readdirSync(layout.journalsDir).filter((f) => f.endsWith(".jsonl"));
    const states = await journalStates(project);
    open = files.flatMap((file) => {
      const state = states.get(`journals/${file}`);
      if (state?.complete) return [];
      return [{ file, owner: state?.pid != null && state.host !== null ? { pid: state.pid, host: state.host } : null }];
    });
    // The fingerprint from before the ingest: what changed while it ran is seen by the next request.
    seen = before;
  };

  const refresh = async (): Promise<void> => {
    if (running !== null) {
      // It may have started before what this request must see was written: wait, then check again.
      await running;
      if (running !== null) return running; // started after this request arrived, so it covers it
    }
    const now = fingerprint();
    if (now === seen) return;
    running = ingestNow(now).finally(() => {
      running = null;
    });
    return running;
  };
  return refresh;
}
