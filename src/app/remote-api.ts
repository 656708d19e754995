import type { JsonValue, RunStatus } from "../journal/records.js";
import type { RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import { FlorError } from "../errors.js";
import type { DivergenceSummary } from "../store/queries/replay-divergences.js";
import {
  problemsOf,
  type CancelOutcome,
  type DivergedRun,
  type DivergenceRow,
  type FlorApi,
  type JobReport,
  type JobState,
  type PlanSummary,
  type Printed,
  type PrintSpec,
  type QueryAnswer,
  type QueryHooks,
  type ReplayAsk,
  type ReplayHooks,
  type ReplayMode,
  type ReplayOutcome,
  type Unfillable,
  type UnverifiedValues,
} from "./flor-api.js";
import {
  FLORQL_ERROR_FIELDS,
  florqlFailure,
  JOB_FIELDS,
  remoteJob,
  servedClient,
  type RemoteApiJob,
  type RemoteFlorqlError,
  type ServeClient,
} from "./serve-client.js";
import { printRows } from "./print-rows.js";

/**
 * FlorApi over the GraphQL API of the `flor serve` that holds the project's embedded store: the same
 * answers, notes and errors as the session in this process gives, from the server's session.
 */
export class RemoteApi implements FlorApi {
  constructor(private readonly client: ServeClient) {}

  /** The API of the server holding this project's store, when one does. */
  static find(): RemoteApi | null {
    const client = servedClient();
    return client === null ? null : new RemoteApi(client);
  }

  async runs(): Promise<RunSummary[]> {
    const runs: RunSummary[] = [];
    let after: string | null = null;
    for (;;) {
      const page: RunsPage = await this.client.request<RunsPage>(
        `query ($after: String) {
        project { projid }
        runs(first: 100, after: $after) { edges { node { tstamp filename vid status seconds error logCount replayedLogCount args { name value } } } pageInfo { hasNextPage endCursor } }
      }`,
        { after },
      );
      for (const { node } of page.runs.edges) {
        runs.push({
          projid: page.project.projid,
          tstamp: node.tstamp,
          filename: node.filename,
          vid: node.vid,
          status: node.status as RunStatus,
          seconds: node.seconds,
          args: Object.fromEntries(node.args.map((a) => [a.name, a.value])),
          logs: node.logCount,
          replayed: node.replayedLogCount,
          error: node.error,
        });
      }
      if (!page.runs.pageInfo.hasNextPage) return runs;
      after = page.runs.pageInfo.endCursor;
    }
  }

  async versions(): Promise<CodeVersion[]> {
    const { versions } = await this.client.request<{ versions: CodeVersion[] }>(
      "{ versions { vid kind base message committedAt firstRun lastRun runs filenames } }",
      {},
    );
    return versions;
  }

  async explain(text: string): Promise<string> {
    const { explain } = await this.client.request<{ explain: { __typename: "FlorqlExplanation"; explain: string } | RemoteFlorqlError }>(
      `query ($query: String!) { explain(query: $query) { ... on FlorqlExplanation { __typename explain } ${FLORQL_ERROR_FIELDS} } }`,
      { query: text },
    );
    if (explain.__typename === "FlorqlError") throw florqlFailure(explain, text);
    return explain.explain;
  }

  /**
   * Waiting is done here, not in one long request: the server starts the replay (ASYNC), this follows
   * the job's progress, then asks again for the filled rows.
   */
  async printQuery(text: string, mode: ReplayMode, print: PrintSpec, hooks?: QueryHooks): Promise<Printed<QueryAnswer>> {
    return printRows(await this.answerQuery(text, mode, hooks), print);
  }

  async answerQuery(text: string, mode: ReplayMode, hooks: QueryHooks = {}): Promise<QueryAnswer> {
    const ask = async (replay: "NONE" | "ASYNC"): Promise<RemoteAnswer> => {
      const { florql } = await this.client.request<{ florql: RemoteAnswer | RemoteFlorqlError }>(
        FLORQL,
        { query: text, replay },
        { authorized: replay === "ASYNC" },
      );
      if (florql.__typename === "FlorqlError") throw florqlFailure(florql, text);
      return florql;
    };
    // Without replay first: a query with nothing to fill then needs no token.
    let answer = await ask("NONE");
    const notes = (from: RemoteAnswer): QueryAnswer["notes"] => ({
      missing: from.replayPlan,
      unfillable: from.unfillable,
      started: null,
      problems: [],
    });
    // A SELECT has at least one column, so none means the query was an EXPLAIN.
    if (answer.columns.length === 0)
      return {
        columns: [],
        rows: [],
        unverified: [],
        explain: answer.explain,
        explained: true,
        job: null,
        complete: true,
        notes: notes(answer),
      };
    const missing = answer.replayPlan !== null && answer.replayPlan.tasks > 0 ? answer.replayPlan : null;
    let job: JobState | null = null;
    let started: QueryAnswer["notes"]["started"] = null;
    if (missing !== null && mode === "async") {
      answer = await ask("ASYNC");
      if (answer.job !== null) {
        job = remoteJob(answer.job);
        started = { jobId: job.id, runner: "server", pid: this.client.info.pid };
      }
    } else if (missing !== null && mode === "wait") {
      const asked = await ask("ASYNC");
      if (asked.job !== null) {
        hooks.onFilling?.(missing);
        job = await this.followJob(asked.job.id, hooks.onProgress);
        answer = await ask("NONE");
      } else answer = asked;
    }
    const problems = job !== null && started === null && job.status !== "done" ? problemsOf(await this.client.jobEvents(job.id)) : [];
    return {
      columns: answer.columns,
      rows: answer.rows,
      unverified: answer.unverified,
      explain: answer.explain,
      explained: false,
      job,
      complete: answer.complete,
      notes: { ...notes(answer), started, problems },
    };
  }

  /** The server plans and runs it; this follows the job, then reads its report. */
  async replay(ask: ReplayAsk, hooks: ReplayHooks = {}): Promise<ReplayOutcome> {
    const { requestReplay: result } = await this.client.request<{
      requestReplay: ({ __typename: "ReplayJob"; plan: PlanSummary | null } & RemoteApiJob) | RemoteFlorqlError;
    }>(
      `mutation ($names: [String!]!, $where: String, $script: String) {
        requestReplay(names: $names, where: $where, script: $script) { ... on ReplayJob { __typename ${JOB_FIELDS} plan } ${FLORQL_ERROR_FIELDS} }
      }`,
      { names: ask.names, where: ask.where ?? null, script: ask.script ?? null },
      { authorized: true },
    );
    if (result.__typename === "FlorqlError") throw florqlFailure(result, ask.where ?? "");
    hooks.onRequested?.(result.id, result.plan);
    const job = await this.followJob(result.id, hooks.onProgress);
    return { job, problems: problemsOf(await this.client.jobEvents(job.id)), report: await this.report(job) };
  }

  /** A job's report as the replay command prints it: the runs whose replays diverged and the first divergences. */
  private async report(job: JobState): Promise<JobReport> {
    const { replayJob } = await this.client.request<{ replayJob: RemoteReport | null }>(REPORT, { id: job.id });
    if (replayJob === null) throw new FlorError(`replay job ${job.id} disappeared from the store of \`flor serve\``);
    return {
      job,
      runs: replayJob.divergedRuns.map(({ tstamp, fromCheckpoint, fromStart, cause, unregistered, ...run }) => ({
        run: tstamp,
        ...run,
        diagnosis: { checkpoints: fromCheckpoint, start: fromStart, cause, unregistered },
      })),
      divergences: replayJob.divergences.edges.map(({ node: { tstamp, difference, ...rest } }) => ({
        run: tstamp,
        absolute: difference,
        ...rest,
      })),
      divergenceCount: replayJob.divergenceCount,
    };
  }

  /** The cancelReplay mutation, then the job's status for the message. */
  async cancelReplay(jobId: number): Promise<CancelOutcome> {
    const { cancelReplay } = await this.client.request<{ cancelReplay: boolean }>(
      "mutation ($id: Int!) { cancelReplay(id: $id) }",
      { id: jobId },
      { authorized: true },
    );
    const { replayJob } = await this.client.request<{ replayJob: { status: string } | null }>(
      "query ($id: Int!) { replayJob(id: $id) { status } }",
      { id: jobId },
    );
    return { cancelled: cancelReplay, status: replayJob === null ? null : replayJob.status.toLowerCase() };
  }

  async close(): Promise<void> {}

  private followJob(id: number, onProgress?: (job: JobState) => void): Promise<JobState> {
    return this.client.followJob(id, (state) => onProgress?.(state));
  }
}

interface RunsPage {
  project: { projid: string };
  runs: {
    edges: {
      node: {
        tstamp: string;
        filename: string;
        vid: string | null;
        status: string;
        seconds: number | null;
        error: string | null;
        logCount: number;
        replayedLogCount: number;
        args: { name: string; value: JsonValue }[];
      };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

interface RemoteReport {
  divergenceCount: number;
  divergedRuns: (Omit<DivergedRun, "run" | "diagnosis"> & {
    tstamp: string;
    fromCheckpoint: DivergenceSummary | null;
    fromStart: DivergenceSummary | null;
    cause: string;
    unregistered: string[];
  })[];
  divergences: { edges: { node: Omit<DivergenceRow, "run" | "absolute"> & { tstamp: string; difference: number | null } }[] };
}

const REPORT = `query ($id: Int!) {
  replayJob(id: $id) {
    divergenceCount
    divergedRuns { tstamp filename vid redone unverified cause unregistered fromCheckpoint { ...summary } fromStart { ...summary } }
    divergences(first: 20) { edges { node { tstamp filename name coordinates occurrence recorded replayed difference relative stage detail } } }
  }
}
fragment summary on ReplayDivergenceSummary { count names first { name coordinates recorded replayed detail } maxAbs maxRel }`;

interface RemoteAnswer {
  __typename: "FlorqlAnswer";
  columns: string[];
  rows: Record<string, JsonValue>[];
  explain: string;
  complete: boolean;
  job: RemoteApiJob | null;
  replayPlan: { names: string[]; runs: number; tasks: number; estimatedSeconds: number } | null;
  unfillable: Unfillable[];
  unverified: UnverifiedValues[];
}

const FLORQL = `query ($query: String!, $replay: ReplayMode!) {
  florql(query: $query, replay: $replay) {
    ... on FlorqlAnswer { __typename columns rows unverified { name rows } explain complete job { ${JOB_FIELDS} } replayPlan { names runs tasks estimatedSeconds } unfillable { name runs reasons } }
    ${FLORQL_ERROR_FIELDS}
  }
}`;
