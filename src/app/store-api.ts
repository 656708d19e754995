import type { ReplayPlan } from "../replay/replay-plan.js";
import type { IngestReport } from "../store/ingest.js";
import type { DataFrame } from "../store/queries/dataframe.js";
import type { ReplayJob } from "../store/queries/replay-jobs.js";
import type { JobReport, Printed, PrintSpec, ReplayAsk } from "./flor-api.js";
import { printRows } from "./print-rows.js";
import type { ProjectSession } from "./project-session.js";

/**
 * What only the process holding the store does (beyond FlorApi): the pivot, an explicit ingest, a
 * replay's whole plan, running a requested job. The session in this process, or the daemon holding the
 * embedded store; shaped like ProjectSession's own methods, so commands are written once. Types only.
 */
export interface StoreApi {
  /** The pivot, its rows printed where they are (see FlorApi.printQuery). */
  printDataframe(names: readonly string[], print: PrintSpec): Promise<Printed<DataFrame>>;
  /** Plans a replay; nothing runs. */
  planReplay(ask: ReplayAsk): Promise<{ plan: ReplayPlan }>;
  /** Has a requested job's tasks run and waits for it to end. */
  runJob(jobId: number, fresh: boolean, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob>;
  /** What a job did not reproduce (runs that diverged, every divergence); null when there is no such job. */
  jobReport(jobId: number): Promise<JobReport | null>;
  /** Loads new journal records (every journal again with `rebuild`) and reports what it read. */
  ingest(rebuild: boolean): Promise<IngestReport>;
  close(): Promise<void>;
}

/** StoreApi over a session this process opened: its opening ingest (as `rebuild` asked) is the command's. */
export class SessionStoreApi implements StoreApi {
  constructor(
    private readonly session: ProjectSession,
    private readonly openedWithRebuild: boolean,
  ) {}

  async printDataframe(names: readonly string[], print: PrintSpec): Promise<Printed<DataFrame>> {
    return printRows(await this.session.dataframe(names), print);
  }

  planReplay(ask: ReplayAsk): Promise<{ plan: ReplayPlan }> {
    return this.session.planReplay(ask);
  }

  runJob(jobId: number, fresh: boolean, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob> {
    return this.session.runJob(jobId, fresh, onProgress);
  }

  jobReport(jobId: number): Promise<JobReport | null> {
    return this.session.jobReport(jobId);
  }

  async ingest(rebuild: boolean): Promise<IngestReport> {
    if (rebuild !== this.openedWithRebuild || this.session.ingested === null)
      throw new Error("the session's opening ingest is the only one it reports: open it with the same rebuild option");
    return this.session.ingested;
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
