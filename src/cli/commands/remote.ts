import type { ReplayMode } from "../../florql/query-service.js";
import type { JsonValue, RunStatus } from "../../journal/records.js";
import type { RunSummary } from "../../store/queries/runs.js";
import type { CodeVersion } from "../../versions/versions.js";
import {
  answerNotes,
  cancelledText,
  describePlan,
  fillingNote,
  jobProblemLines,
  jobSummary,
  renderRuns,
  renderVersions,
  type AnswerFacts,
  type PlanSummary,
} from "../command-text.js";
import { render, type OutputFormat } from "../output.js";
import { ReplayProgress } from "../progress.js";
import {
  FLORQL_ERROR_FIELDS,
  florqlFailure,
  JOB_FIELDS,
  remoteJob,
  type RemoteApiJob,
  type RemoteFlorqlError,
  type RemoteJob,
  type ServeClient,
} from "../serve-client.js";
import type { CommandOutput } from "./propagate.js";

/**
 * `flor runs`, `versions`, `query`, `explain` and `replay` through the GraphQL API of the `flor serve`
 * that holds the embedded store, printing what the same command prints with the store opened here.
 */

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
        logCount: number;
        args: { name: string; value: JsonValue }[];
      };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

export async function remoteRuns(client: ServeClient, format: OutputFormat): Promise<string> {
  const runs: RunSummary[] = [];
  let after: string | null = null;
  for (;;) {
    const page: RunsPage = await client.request<RunsPage>(
      `query ($after: String) {
      project { projid }
      runs(first: 100, after: $after) { edges { node { tstamp filename vid status seconds logCount args { name value } } } pageInfo { hasNextPage endCursor } }
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
      });
    }
    if (!page.runs.pageInfo.hasNextPage) return renderRuns(runs, format);
    after = page.runs.pageInfo.endCursor;
  }
}

export async function remoteVersions(client: ServeClient, format: OutputFormat): Promise<string> {
  const { versions } = await client.request<{ versions: CodeVersion[] }>(
    "{ versions { vid kind base message committedAt firstRun lastRun runs filenames } }",
    {},
  );
  return renderVersions(versions, format);
}

interface RemoteAnswer {
  __typename: "FlorqlAnswer";
  columns: string[];
  rows: Record<string, JsonValue>[];
  explain: string;
  job: RemoteApiJob | null;
  replayPlan: { names: string[]; runs: number; tasks: number; estimatedSeconds: number } | null;
  unfillable: { name: string; runs: number; reasons: string[] }[];
}

const FLORQL = `query ($query: String!, $replay: ReplayMode!) {
  florql(query: $query, replay: $replay) {
    ... on FlorqlAnswer { __typename columns rows explain job { ${JOB_FIELDS} } replayPlan { names runs tasks estimatedSeconds } unfillable { name runs reasons } }
    ${FLORQL_ERROR_FIELDS}
  }
}`;

/**
 * `flor query` and `flor explain`. Waiting is done here, not in one long request: the server starts the
 * replay (ASYNC), this follows the job's progress, then asks again for the filled rows.
 */
export async function remoteQuery(
  client: ServeClient,
  text: string,
  options: { explain: boolean; replay: ReplayMode; format: OutputFormat },
): Promise<CommandOutput> {
  if (options.explain) {
    const { explain } = await client.request<{ explain: { __typename: "FlorqlExplanation"; explain: string } | RemoteFlorqlError }>(
      `query ($query: String!) { explain(query: $query) { ... on FlorqlExplanation { __typename explain } ${FLORQL_ERROR_FIELDS} } }`,
      { query: text },
    );
    if (explain.__typename === "FlorqlError") throw florqlFailure(explain, text);
    return { stdout: explain.explain, stderr: "", exitCode: 0 };
  }
  const ask = async (replay: "NONE" | "ASYNC"): Promise<RemoteAnswer> => {
    const { florql } = await client.request<{ florql: RemoteAnswer | RemoteFlorqlError }>(
      FLORQL,
      { query: text, replay },
      { authorized: replay === "ASYNC" },
    );
    if (florql.__typename === "FlorqlError") throw florqlFailure(florql, text);
    return florql;
  };
  // Without replay first: a query with nothing to fill then needs no token.
  let answer = await ask("NONE");
  // A SELECT has at least one column, so none means the query was an EXPLAIN.
  if (answer.columns.length === 0) return { stdout: answer.explain, stderr: "", exitCode: 0 };
  const missing = answer.replayPlan !== null && answer.replayPlan.tasks > 0 ? answer.replayPlan : null;
  let job: RemoteJob | null = null;
  let note = "";
  if (missing !== null && options.replay === "async") {
    answer = await ask("ASYNC");
    if (answer.job !== null)
      note = `flor: replay job ${answer.job.id} runs in \`flor serve\` (pid ${client.info.pid}); \`flor query\` again shows its values as they land\n`;
  } else if (missing !== null && options.replay === "wait") {
    const started = await ask("ASYNC");
    if (started.job !== null) {
      process.stderr.write(fillingNote(missing.names, missing.tasks, missing.estimatedSeconds));
      job = await follow(client, started.job.id);
      answer = await ask("NONE");
    } else answer = started;
  }
  const facts: AnswerFacts = {
    job,
    problems: job !== null && job.status !== "done" ? jobProblemLines(await client.jobEvents(job.id)) : "",
    unfillable: answer.unfillable,
    replay:
      answer.replayPlan === null ? null : { names: answer.replayPlan.names, runs: answer.replayPlan.runs, tasks: answer.replayPlan.tasks },
  };
  return { stdout: render(answer.columns, answer.rows, options.format), stderr: note + answerNotes(facts, options.replay), exitCode: 0 };
}

/**
 * `flor replay`: the server plans and runs it; this prints the job's plan, follows it, and prints the
 * same summary and task problems. Which values diverged the API does not say, only how many.
 */
export async function remoteReplay(
  client: ServeClient,
  options: { names: string[]; where: string | undefined; script: string | undefined; format: OutputFormat },
): Promise<CommandOutput> {
  const { requestReplay: result } = await client.request<{
    requestReplay: ({ __typename: "ReplayJob"; plan: PlanSummary | null } & RemoteApiJob) | RemoteFlorqlError;
  }>(
    `mutation ($names: [String!]!, $where: String, $script: String) {
      requestReplay(names: $names, where: $where, script: $script) { ... on ReplayJob { __typename ${JOB_FIELDS} plan } ${FLORQL_ERROR_FIELDS} }
    }`,
    { names: options.names, where: options.where ?? null, script: options.script ?? null },
    { authorized: true },
  );
  if (result.__typename === "FlorqlError") throw florqlFailure(result, options.where ?? "");
  if (result.plan !== null) process.stderr.write(describePlan(result.plan));
  const job = await follow(client, remoteJob(result).id);
  let stderr = jobProblemLines(await client.jobEvents(job.id));
  if (job.divergences > 0)
    stderr += `flor: warning: the replay did not reproduce ${job.divergences} recorded value(s); the replayed values may not be faithful\n`;
  return { stdout: jobSummary(job, options.format), stderr, exitCode: job.status === "done" ? 0 : 1 };
}

async function follow(client: ServeClient, id: number): Promise<RemoteJob> {
  const progress = new ReplayProgress();
  try {
    return await client.followJob(id, (state) => progress.update(state));
  } finally {
    progress.end();
  }
}

/** `flor replay --cancel N` through the server: the cancelReplay mutation, then the job's status for the message. */
export async function remoteCancel(client: ServeClient, jobId: number): Promise<string> {
  const { cancelReplay } = await client.request<{ cancelReplay: boolean }>(
    "mutation ($id: Int!) { cancelReplay(id: $id) }",
    { id: jobId },
    { authorized: true },
  );
  const { replayJob } = await client.request<{ replayJob: { status: string } | null }>(
    "query ($id: Int!) { replayJob(id: $id) { status } }",
    { id: jobId },
  );
  return cancelledText(jobId, cancelReplay, replayJob === null ? null : replayJob.status.toLowerCase());
}
