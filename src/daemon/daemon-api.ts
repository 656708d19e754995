import type {
  CancelOutcome,
  FlorApi,
  JobReport,
  JobState,
  MissingValues,
  PlanSummary,
  Printed,
  PrintSpec,
  QueryAnswer,
  QueryHooks,
  ReplayAsk,
  ReplayHooks,
  ReplayMode,
  ReplayOutcome,
} from "../app/flor-api.js";
import type { OpenOptions } from "../app/project-session.js";
import type { StoreApi } from "../app/store-api.js";
import { findRepositoryRoot, layoutFor } from "../project-layout.js";
import type { ReplayPlan } from "../replay/replay-plan.js";
import type { IngestReport } from "../store/ingest.js";
import type { DataFrame } from "../store/queries/dataframe.js";
import type { ReplayJob } from "../store/queries/replay-jobs.js";
import type { RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import { DaemonClient } from "./daemon-client.js";
import { type PackedRows, unpackRows } from "./packed-rows.js";

/**
 * FlorApi and StoreApi through the daemon (or `flor serve`) holding the project's embedded store: the
 * session's own answers, made there, with progress and warnings relayed as they happen.
 */
export class DaemonApi implements FlorApi, StoreApi {
  private constructor(
    private readonly client: DaemonClient,
    private readonly options: OpenOptions,
  ) {}

  /** The API through the daemon, started when needed; null when another process holds the store itself. */
  static async connect(options: OpenOptions): Promise<DaemonApi | null> {
    const client = await DaemonClient.connect(layoutFor(findRepositoryRoot(options.cwd ?? process.cwd())));
    return client === null ? null : new DaemonApi(client, options);
  }

  runs(): Promise<RunSummary[]> {
    return this.ask("runs", []);
  }

  versions(): Promise<CodeVersion[]> {
    return this.ask("versions", []);
  }

  explain(text: string): Promise<string> {
    return this.ask("explain", [text, this.options.workers]);
  }

  async answerQuery(text: string, mode: ReplayMode, hooks: QueryHooks = {}): Promise<QueryAnswer> {
    const answer = await this.ask<Omit<QueryAnswer, "rows"> & { rows: PackedRows }>(
      "answerQuery",
      [text, mode, this.options.workers],
      queryHandlers(hooks),
    );
    return { ...answer, rows: unpackRows(answer.rows) };
  }

  async printQuery(text: string, mode: ReplayMode, print: PrintSpec, hooks: QueryHooks = {}): Promise<Printed<QueryAnswer>> {
    const { value, text: printed } = await this.client.print<Omit<QueryAnswer, "rows">>(
      "answerQuery",
      [text, mode, this.options.workers, print],
      this.handlers(queryHandlers(hooks)),
    );
    return { ...value, text: printed };
  }

  replay(ask: ReplayAsk, hooks: ReplayHooks = {}): Promise<ReplayOutcome> {
    return this.ask("replay", [ask, this.options.workers], {
      requested: (data) => {
        const { jobId, plan } = data as { jobId: number; plan: PlanSummary | null };
        hooks.onRequested?.(jobId, plan);
      },
      progress: (job) => hooks.onProgress?.(job as JobState),
    });
  }

  cancelReplay(jobId: number): Promise<CancelOutcome> {
    return this.ask("cancelReplay", [jobId]);
  }

  async printDataframe(names: readonly string[], print: PrintSpec): Promise<Printed<DataFrame>> {
    const { value, text } = await this.client.print<Omit<DataFrame, "rows">>("printDataframe", [names, print], this.handlers());
    return { ...value, text };
  }

  planReplay(ask: ReplayAsk): Promise<{ plan: ReplayPlan }> {
    return this.ask("planReplay", [ask, this.options.workers]);
  }

  runJob(jobId: number, _fresh: boolean, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob> {
    return this.ask("runJob", [jobId, this.options.workers], { progress: (job) => onProgress?.(job as ReplayJob) });
  }

  jobReport(jobId: number): Promise<JobReport | null> {
    return this.ask("jobReport", [jobId]);
  }

  ingest(rebuild: boolean): Promise<IngestReport> {
    return this.ask("ingest", [rebuild]);
  }

  async close(): Promise<void> {}

  private ask<T>(method: string, params: unknown[], handlers: Handlers = {}): Promise<T> {
    return this.client.request<T>(method, params, this.handlers(handlers));
  }

  private handlers(handlers: Handlers = {}): (name: string, data: unknown) => void {
    return (name, data) => {
      // The problems the ingest before the command found, as the command would have reported them.
      if (name === "warning") this.options.onIngestProblem?.(data as string);
      else handlers[name]?.(data);
    };
  }
}

type Handlers = Record<string, (data: unknown) => void>;

function queryHandlers(hooks: QueryHooks): Handlers {
  return {
    filling: (missing) => hooks.onFilling?.(missing as MissingValues),
    progress: (job) => hooks.onProgress?.(job as JobState),
  };
}
