import type { QueryPlan } from "../florql/query-service.js";
import { findRepositoryRoot, layoutFor, type ProjectLayout } from "../project-layout.js";
import type { ReplayPlan, ReplayRequest } from "../replay/replay-plan.js";
import { requestReplay, type RequestedReplay } from "../replay/replay-service.js";
import { ingest, type IngestReport } from "../store/ingest.js";
import { openStore, type Store } from "../store/open-store.js";
import { bindProject, type ProjectStore } from "../store/project-store.js";
import type { DataFrame } from "../store/queries/dataframe.js";
import { divergedTasks, jobDivergenceCount, jobDivergences, type Divergence } from "../store/queries/replay-divergences.js";
import { listEvents, type ReplayEvent } from "../store/queries/replay-events.js";
import { cancelJob, getJob, jobPlan, type ReplayJob } from "../store/queries/replay-jobs.js";
import { listRuns, type RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import { FlorError } from "../errors.js";
import {
  problemsOf,
  type CancelOutcome,
  type DivergedRun,
  type DivergenceRow,
  type JobReport,
  type MissingValues,
  type QueryAnswer,
  type QueryHooks,
  type ReplayAsk,
  type ReplayHooks,
  type ReplayMode,
  type ReplayOutcome,
} from "./flor-api.js";
import { LocalExecutor } from "./local-executor.js";
import { QueueExecutor } from "./queue-executor.js";
import type { ReplayExecutor } from "./replay-executor.js";

/** The git repository runs were recorded in; its code versions are read from it. */
export interface Repository {
  root: string;
}

export interface SessionOptions {
  /** Replay workers: for plans and estimates, and how many tasks this process runs at a time. */
  workers: number;
  /**
   * `command`: one CLI command (a replay it does not wait for goes to a process that outlives it);
   * `server`: a long-lived process that runs replays in the background itself.
   */
  lifetime: "command" | "server";
  /** Messages for the user from background parts (the job queue). */
  notify?: (message: string) => void;
}

export interface OpenOptions extends SessionOptions {
  /** The command holding the store, named in the embedded store's lock. */
  command: string;
  /** Anywhere in the repository (default: the working directory). */
  cwd?: string;
  /** Forget the project's data in the store and read every journal again. */
  rebuild?: boolean;
  /** How long to wait for the embedded store while another process holds it. */
  waitSeconds?: number;
  /** Hears each problem the ingest at opening found (malformed journal lines). */
  onIngestProblem?: (problem: string) => void;
}

/**
 * One project opened for work: its layout, its store bound to the project (ingested up to date when
 * the session opened it), the git repository, and the replay executor, chosen once by where the store
 * is. Its methods are FlorDB's services: the CLI (local-api.ts), GraphQL's resolvers and any other
 * transport reach them through it, so each is written once.
 */
export class ProjectSession {
  private constructor(
    readonly layout: ProjectLayout,
    readonly project: ProjectStore,
    readonly repository: Repository,
    readonly executor: ReplayExecutor,
    readonly workers: number,
    /** What the ingest at opening found; null for a session over a store someone else opened. */
    readonly ingested: IngestReport | null,
    private readonly owned: boolean,
  ) {}

  /**
   * Opens the project around `cwd`: the store, brought up to date with the journals (so nothing reads
   * stale data and nobody has to remember an ingest step), bound to the project.
   */
  static async open(options: OpenOptions): Promise<ProjectSession> {
    const layout = layoutFor(findRepositoryRoot(options.cwd ?? process.cwd()));
    const store = await openStore(layout, {
      command: options.command,
      ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
      setAsideBroken: options.rebuild === true,
    });
    if (store.setAside !== null)
      options.notify?.(
        `the embedded store could not be opened; its files were moved to ${store.setAside} and it is rebuilt from the journals`,
      );
    try {
      const ingested = await ingest(store, layout, { rebuild: options.rebuild === true });
      for (const problem of ingested.problems) options.onIngestProblem?.(problem);
      return ProjectSession.create(await bindProject(store, layout.projid, ingested.projectId), layout, options, ingested, true);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** A session over a store that is already open (and stays open after `close`). */
  static async over(store: Store, layout: ProjectLayout, options: SessionOptions): Promise<ProjectSession> {
    return ProjectSession.create(await bindProject(store, layout.projid), layout, options, null, false);
  }

  private static create(
    project: ProjectStore,
    layout: ProjectLayout,
    options: SessionOptions,
    ingested: IngestReport | null,
    owned: boolean,
  ): ProjectSession {
    const notify = options.notify ?? (() => undefined);
    const serverUrl = project.store.serverUrl;
    const executor =
      serverUrl === null
        ? new LocalExecutor(project, layout, options.workers, options.lifetime)
        : new QueueExecutor(project, layout, serverUrl, options.workers, options.lifetime, notify);
    return new ProjectSession(layout, project, { root: layout.root }, executor, options.workers, ingested, owned);
  }

  get store(): Store {
    return this.project.store;
  }

  runs(): Promise<RunSummary[]> {
    return listRuns(this.project, this.project.projid);
  }

  // Modules that only some commands need load when used (git's client among them).

  /** The code versions runs ran (only `vids` when given), oldest first. */
  async versions(vids?: readonly string[]): Promise<CodeVersion[]> {
    const { listVersions } = await import("../versions/versions.js");
    return listVersions(this.project, this.repository.root, vids);
  }

  /** The recorded vid that a commit id or a prefix of one names; null when no run ran it. */
  async resolveVersion(text: string): Promise<string | null> {
    const { resolveRecordedVid } = await import("../versions/recorded-vid.js");
    return resolveRecordedVid(this.project, text);
  }

  async dataframe(names: readonly string[]): Promise<DataFrame> {
    const { dataframe } = await import("../store/queries/dataframe.js");
    return dataframe(this.project, this.project.projid, names);
  }

  /** Plans a FlorQL query, the replay that fills its missing values included; nothing runs. */
  async planQuery(text: string, prepare = false): Promise<QueryPlan> {
    // The query language loads only when a query is asked (its parser takes a while to load).
    const { planQuery } = await import("../florql/query-service.js");
    return planQuery(this.project, this.layout, text, { workers: this.workers, ...this.preparing(prepare) });
  }

  async explain(text: string): Promise<string> {
    const { explainText } = await import("../florql/explain.js");
    return explainText(await this.planQuery(text));
  }

  /**
   * Answers a FlorQL query: plans it (and the replay that fills what past versions never logged, once),
   * fills missing values first (`wait`), starts filling them (`async`) or not (`none`), then runs its
   * SQL. `authorize` is called before a replay is requested; `maxWaitSeconds` bounds a wait (the job
   * goes on, and the answer is not complete).
   */
  async answerQuery(
    text: string,
    mode: ReplayMode,
    hooks: QueryHooks = {},
    options: { authorize?: () => void; maxWaitSeconds?: number } = {},
  ): Promise<QueryAnswer & { job: ReplayJob | null }> {
    const [{ queryRows }, { explainText }] = await Promise.all([import("../florql/query-service.js"), import("../florql/explain.js")]);
    const plan = await this.planQuery(text, mode !== "none");
    const notes: QueryAnswer["notes"] = { missing: missingValues(plan.replay), unfillable: plan.unfillable, started: null, problems: [] };
    const explain = explainText(plan);
    if (plan.analyzed.query.explain)
      return { columns: [], rows: [], unverified: [], explain, explained: true, job: null, complete: true, notes };
    const replay = plan.replay !== null && plan.replay.tasks.length > 0 && plan.replayRequest !== null ? plan.replay : null;
    let job: ReplayJob | null = null;
    if (replay !== null && mode !== "none") {
      options.authorize?.();
      const { jobId, fresh } = await this.requestReplay(replay, plan.replayRequest!);
      if (mode === "async") {
        notes.started = await this.executor.start(jobId, fresh);
        job = await getJob(this.project.db, jobId);
      } else {
        hooks.onFilling?.(notes.missing!);
        job = await this.executor.run(jobId, fresh, {
          ...(hooks.onProgress === undefined ? {} : { onProgress: hooks.onProgress }),
          ...(options.maxWaitSeconds === undefined ? {} : { maxSeconds: options.maxWaitSeconds }),
        });
        if (job.status !== "done") notes.problems = problemsOf(await listEvents(this.project.db, jobId));
      }
    }
    const { columns, rows, unverified } = await queryRows(this.project, plan);
    const complete = replay === null || (mode === "wait" && job?.status === "done");
    return { columns, rows, unverified, explain, explained: false, job, complete, notes };
  }

  /** Plans a replay asked for in words (log names, a FlorQL predicate, a script); nothing runs. */
  async planReplay(ask: ReplayAsk, prepare = false): Promise<{ plan: ReplayPlan; request: ReplayRequest }> {
    const request: ReplayRequest = {
      names: ask.names,
      ...(ask.script === undefined ? {} : { filename: ask.script }),
      ...(ask.where === undefined ? {} : { where: await this.scope(ask.where), whereText: ask.where }),
    };
    // Propagation (recast, Babel) loads only when a replay is planned.
    const { planReplay } = await import("../replay/replay-plan.js");
    return { plan: await planReplay(this.project, this.layout, request, { workers: this.workers, ...this.preparing(prepare) }), request };
  }

  /** Planning options that start the task processes of a replay about to run (see ReplayExecutor.prepare). */
  preparing(prepare = true): { prepare?: (scripts: readonly string[]) => void } {
    const executor = this.executor;
    return prepare && executor.prepare !== undefined ? { prepare: (scripts) => executor.prepare!(scripts) } : {};
  }

  /** Stores a planned replay as a job; while the same replay's job runs, that job (see replay-service). */
  requestReplay(plan: ReplayPlan, request: ReplayRequest): Promise<RequestedReplay> {
    return requestReplay(this.project, plan, request);
  }

  /** Plans a replay, requests it and has it run without waiting: what a client that follows the job asks for. */
  async startReplay(ask: ReplayAsk): Promise<ReplayJob> {
    const { plan, request } = await this.planReplay(ask, true);
    const { jobId, fresh } = await this.requestReplay(plan, request);
    await this.executor.start(jobId, fresh);
    return (await getJob(this.project.db, jobId))!;
  }

  /** Plans a replay, requests it, has it run and waits for it to end. */
  async replay(ask: ReplayAsk, hooks: ReplayHooks = {}): Promise<ReplayOutcome> {
    const { plan, request } = await this.planReplay(ask, true);
    const { jobId, fresh } = await this.requestReplay(plan, request);
    hooks.onRequested?.(jobId, fresh ? plan : null);
    const job = await this.runJob(jobId, fresh, hooks.onProgress);
    return { job, problems: problemsOf(await this.jobEvents(jobId)), report: (await this.jobReport(jobId, REPORTED_DIVERGENCES))! };
  }

  /** Has a requested job's tasks run and waits for it to end; a job that does not exist is the user's mistake. */
  async runJob(jobId: number, fresh: boolean, onProgress?: (job: ReplayJob) => void): Promise<ReplayJob> {
    if ((await getJob(this.project.db, jobId)) === null) throw new FlorError(`there is no replay job ${jobId}`);
    return this.executor.run(jobId, fresh, onProgress === undefined ? {} : { onProgress });
  }

  /**
   * What a job did not reproduce: the runs whose replays diverged (what was found, the likely cause, the
   * redo and its outcome) and the divergences themselves, the first `limit` of them (default: all);
   * null when there is no such job.
   */
  async jobReport(jobId: number, limit = Infinity): Promise<JobReport | null> {
    const job = await getJob(this.project.db, jobId);
    if (job === null) return null;
    const divergences: DivergenceRow[] = [];
    for (let after: string | null = null; divergences.length < limit; ) {
      const size = Math.min(5000, limit - divergences.length);
      const page = await this.divergences(jobId, after, size);
      divergences.push(...page.map(divergenceRow));
      if (page.length < size) break;
      after = page.at(-1)!.id;
    }
    const divergenceCount = divergences.length < limit ? divergences.length : await this.divergenceCount(jobId);
    return { job, runs: await this.divergedRuns(jobId), divergences, divergenceCount };
  }

  /** A page of a job's divergences, in the order they were found: those after the divergence id `after`, at most `limit`. */
  divergences(jobId: number, after: string | null, limit: number): Promise<Divergence[]> {
    return jobDivergences(this.project.db, jobId, { after, limit });
  }

  divergenceCount(jobId: number): Promise<number> {
    return jobDivergenceCount(this.project.db, jobId);
  }

  /** The runs whose replays in a job diverged: what was found, the likely cause, the redo and its outcome. */
  async divergedRuns(jobId: number): Promise<DivergedRun[]> {
    return (await divergedTasks(this.project.db, jobId)).map((task) => ({
      run: task.tstamp.toISOString(),
      filename: task.filename,
      vid: task.vid,
      redone: task.redone,
      unverified: task.unverified,
      diagnosis: task.diagnosis,
    }));
  }

  job(jobId: number): Promise<ReplayJob | null> {
    return getJob(this.project.db, jobId);
  }

  /** The plan a job runs, as stored with it. */
  jobPlan(jobId: number) {
    return jobPlan(this.project.db, jobId);
  }

  /** A job's events, after the event id `after` when given, at most `limit`. */
  jobEvents(jobId: number, after?: string | null, limit?: number): Promise<ReplayEvent[]> {
    return listEvents(this.project.db, jobId, after, limit);
  }

  async cancelReplay(jobId: number): Promise<CancelOutcome> {
    const cancelled = await cancelJob(this.project.db, jobId);
    return { cancelled, status: (await getJob(this.project.db, jobId))?.status ?? null };
  }

  /** A FlorQL predicate as a replay scope; the query language loads only when there is one. */
  private async scope(where: string) {
    const { projectScope } = await import("../florql/scope-predicate.js");
    return projectScope(where, this.project, this.repository.root);
  }

  /** Stops the replays this process runs (their tasks go back to the queue), then closes the store if the session opened it. */
  async close(): Promise<void> {
    try {
      await this.executor.stop();
    } finally {
      if (this.owned) await this.project.store.close();
    }
  }
}

/** How many divergences a replay's outcome lists (the job's report has them all). */
const REPORTED_DIVERGENCES = 20;

function divergenceRow({ id: _id, runId: _runId, tstamp, ...rest }: Divergence): DivergenceRow {
  return { run: tstamp.toISOString(), ...rest };
}

/** What a query's replay plan would fill, as answers report it. */
function missingValues(plan: ReplayPlan | null): MissingValues | null {
  if (plan === null) return null;
  return {
    // Only the names replay fills: a name some runs lack but none of the replayed ones needs is not being filled.
    names: plan.names.filter((name) =>
      plan.runs.some((run) => run.outcome === "replay" && run.names.some((n) => n.name === name && n.status === "fill")),
    ),
    runs: plan.runs.filter((r) => r.outcome === "replay").length,
    tasks: plan.tasks.length,
    estimatedSeconds: plan.estimate.wallSeconds,
  };
}
