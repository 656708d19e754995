import type { MissingValues, QueryAnswer, Unfillable, UnverifiedValues } from "../../app/flor-api.js";
import { FlorUsageError } from "../../errors.js";
import { FlorQLError } from "../../florql/florql-error.js";
import type { ReplayJob } from "../../store/queries/replay-jobs.js";
import { builder } from "../builder.js";
import { heavy } from "../heavy-work.js";
import { PLANNING_COST } from "../limits.js";
import { requireToken } from "../require-token.js";
import { JsonScalar } from "./json.js";
import { ReplayJobRef } from "./replay-job.js";

type Answer = QueryAnswer & { kind: "answer"; job: ReplayJob | null };

/** WAIT's default patience: below common proxy and client timeouts; a longer job is followed through replayJobEvents. */
export const DEFAULT_REPLAY_WAIT_SECONDS = 20;
interface Explanation {
  kind: "explanation";
  explain: string;
}
export interface Refusal {
  kind: "error";
  code: string;
  message: string;
  line: number | null;
  column: number | null;
  hint: string | null;
  offset?: number | null;
  length?: number | null;
}

const ReplayModeEnum = builder.enumType("ReplayMode", {
  description:
    "What to do about values that past versions never logged: leave them empty (NONE), fill them in the background (ASYNC), or fill them first (WAIT).",
  values: ["NONE", "ASYNC", "WAIT"] as const,
});

const FlorqlReplayPlanRef = builder.objectRef<MissingValues>("FlorqlReplayPlan").implement({
  description: "What replay fills for a query's missing log names.",
  fields: (t) => ({
    names: t.exposeStringList("names"),
    runs: t.exposeInt("runs", { description: "Runs to replay." }),
    tasks: t.exposeInt("tasks"),
    estimatedSeconds: t.exposeFloat("estimatedSeconds", { description: "Estimated wall time." }),
  }),
});

const FlorqlUnfillableRef = builder.objectRef<Unfillable>("FlorqlUnfillable").implement({
  description: "A log name some runs in scope lack that replay cannot fill.",
  fields: (t) => ({
    name: t.exposeString("name"),
    runs: t.exposeInt("runs"),
    reasons: t.exposeStringList("reasons"),
  }),
});

const FlorqlUnverifiedRef = builder.objectRef<UnverifiedValues>("FlorqlUnverified").implement({
  description:
    "A log name whose values in the answer include some that no replay could verify (a replay from the run's start did not reproduce the run's recorded values). Select <name>__verified to see which.",
  fields: (t) => ({
    name: t.exposeString("name"),
    rows: t.exposeInt("rows", { description: "Rows that hold (or, aggregated, draw on) such values." }),
  }),
});

const FlorqlAnswerRef = builder.objectRef<Answer>("FlorqlAnswer").implement({
  fields: (t) => ({
    columns: t.exposeStringList("columns"),
    rows: t.field({ type: [JsonScalar], description: "One object per row, keyed by column.", resolve: (a) => a.rows }),
    unverified: t.field({
      type: [FlorqlUnverifiedRef],
      description: "The query's log names whose values in these rows include unverified ones; empty when every value is verified.",
      resolve: (a) => a.unverified,
    }),
    explain: t.exposeString("explain", { description: "The plan, as EXPLAIN prints it." }),
    job: t.field({
      type: ReplayJobRef,
      nullable: true,
      description: "The replay job filling missing values (replay: ASYNC or WAIT), if one started; the rows show what is filled so far.",
      resolve: (a) => a.job,
    }),
    complete: t.exposeBoolean("complete", {
      description:
        "Whether the rows hold every value the plan can fill: false when values are missing and replay is NONE, or its job still runs (ASYNC, or WAIT past its time limit) or failed.",
    }),
    replayPlan: t.field({
      type: FlorqlReplayPlanRef,
      nullable: true,
      description: "What replay fills for the missing log names; null when nothing is missing.",
      resolve: (a) => a.notes.missing,
    }),
    unfillable: t.field({
      type: [FlorqlUnfillableRef],
      description: "Missing log names replay cannot fill, with why.",
      resolve: (a) => a.notes.unfillable,
    }),
  }),
});

const FlorqlExplanationRef = builder.objectRef<Explanation>("FlorqlExplanation").implement({
  fields: (t) => ({
    explain: t.exposeString("explain"),
  }),
});

export const FlorqlErrorRef = builder.objectRef<Refusal>("FlorqlError").implement({
  description: "A query FlorDB will not answer: a FlorQL syntax or name error, or a refused request. Not a GraphQL error.",
  fields: (t) => ({
    code: t.exposeString("code", { description: "A FlorQL error code (FQL001...; see the README), or USAGE for other mistakes." }),
    message: t.exposeString("message"),
    line: t.exposeInt("line", { nullable: true, description: "1-based line of the culprit in the query." }),
    column: t.exposeInt("column", { nullable: true }),
    offset: t.int({
      nullable: true,
      description: "0-based offset of the culprit in the query (UTF-16 code units).",
      resolve: (e) => e.offset ?? null,
    }),
    length: t.int({ nullable: true, description: "Length of the culprit (UTF-16 code units).", resolve: (e) => e.length ?? null }),
    hint: t.exposeString("hint", { nullable: true, description: "A suggestion, such as a name it may have meant." }),
  }),
});

const FlorqlResultRef = builder.unionType("FlorqlResult", {
  types: [FlorqlAnswerRef, FlorqlErrorRef],
  resolveType: (value) => (value.kind === "answer" ? FlorqlAnswerRef : FlorqlErrorRef),
});

const ExplainResultRef = builder.unionType("ExplainResult", {
  types: [FlorqlExplanationRef, FlorqlErrorRef],
  resolveType: (value) => (value.kind === "explanation" ? FlorqlExplanationRef : FlorqlErrorRef),
});

builder.queryFields((t) => ({
  florql: t.field({
    type: FlorqlResultRef,
    nullable: true,
    complexity: PLANNING_COST,
    description:
      "Answers a FlorQL query. Values past versions never logged are left empty (replay: NONE), filled in the background while the answer shows what is there (ASYNC), or filled first (WAIT, up to the server's wait limit; then it answers with complete: false and the job to follow with replayJobEvents). ASYNC and WAIT need the bearer token when they run replays.",
    args: {
      query: t.arg.string({ required: true }),
      replay: t.arg({ type: ReplayModeEnum, required: true, defaultValue: "NONE" }),
    },
    resolve: (_root, { query, replay }, context) =>
      heavy(context, (slot) =>
        asData(async (): Promise<Answer | Refusal> => {
          const mode = replay === "NONE" ? "none" : replay === "ASYNC" ? "async" : "wait";
          const answer = await context.session.answerQuery(
            query,
            mode,
            {},
            {
              authorize: () => {
                requireToken(context, `florql with replay: ${replay}`);
                // Planning is done: waiting for a replay takes no slot from other heavy fields.
                slot.release();
              },
              maxWaitSeconds: context.replayWaitSeconds ?? DEFAULT_REPLAY_WAIT_SECONDS,
            },
          );
          return { kind: "answer", ...answer };
        }),
      ),
  }),
  explain: t.field({
    type: ExplainResultRef,
    nullable: true,
    complexity: PLANNING_COST,
    description: "The plan of a FlorQL query, as flor explain prints it; nothing is run.",
    args: { query: t.arg.string({ required: true }) },
    resolve: (_root, { query }, context) =>
      heavy(context, () =>
        asData(async (): Promise<Explanation | Refusal> => ({ kind: "explanation", explain: await context.session.explain(query) })),
      ),
  }),
}));

/** The user's mistakes become FlorqlError values; anything else stays an error, which yoga masks. */
export async function asData<T>(work: () => Promise<T>): Promise<T | Refusal> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FlorQLError)
      return {
        kind: "error",
        code: error.code,
        message: error.summary,
        line: error.span.line,
        column: error.span.column,
        hint: error.hint ?? null,
        offset: error.span.offset,
        length: error.span.length,
      };
    if (error instanceof FlorUsageError)
      return { kind: "error", code: "USAGE", message: error.message, line: null, column: null, hint: error.hint ?? null };
    throw error;
  }
}
