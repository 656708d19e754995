import { FlorUsageError } from "../../errors.js";
import { explainText } from "../../florql/explain.js";
import { FlorQLError } from "../../florql/florql-error.js";
import { planQuery, runQuery, type QueryPlan } from "../../florql/query-service.js";
import type { JsonValue } from "../../journal/records.js";
import { builder, type FlorContext } from "../builder.js";
import type { ReplayJob } from "../../replay/replay-jobs.js";
import { requireToken, startReplay } from "../replay-runner.js";
import { JsonScalar } from "./json.js";
import { ReplayJobRef } from "./replay-job.js";

interface Answer { kind: "answer"; columns: string[]; rows: Record<string, JsonValue>[]; explain: string; job: ReplayJob | null }
interface Explanation { kind: "explanation"; explain: string }
export interface Refusal { kind: "error"; code: string; message: string; line: number | null; column: number | null; hint: string | null }

const ReplayModeEnum = builder.enumType("ReplayMode", {
  description: "What to do about values that past versions never logged: leave them empty (NONE), fill them in the background (ASYNC), or fill them first (WAIT).",
  values: ["NONE", "ASYNC", "WAIT"] as const,
});

const FlorqlAnswerRef = builder.objectRef<Answer>("FlorqlAnswer").implement({
  fields: (t) => ({
    columns: t.exposeStringList("columns"),
    rows: t.field({ type: [JsonScalar], description: "One object per row, keyed by column.", resolve: (a) => a.rows }),
    explain: t.exposeString("explain", { description: "The plan, as EXPLAIN prints it." }),
    job: t.field({ type: ReplayJobRef, nullable: true, description: "The replay job filling missing values (replay: ASYNC), if one started; the rows show what is filled so far.", resolve: (a) => a.job }),
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
    code: t.exposeString("code", { description: "A FlorQL error code (FQL001...; see the README), USAGE for other mistakes, or NOT_YET for a replay mode this server does not offer yet." }),
    message: t.exposeString("message"),
    line: t.exposeInt("line", { nullable: true, description: "1-based line of the culprit in the query." }),
    column: t.exposeInt("column", { nullable: true }),
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
    description: "Answers a FlorQL query. replay: ASYNC starts filling missing values in the background (needs the bearer token) and answers at once, with the job; WAIT is refused with code NOT_YET.",
    args: {
      query: t.arg.string({ required: true }),
      replay: t.arg({ type: ReplayModeEnum, required: true, defaultValue: "NONE" }),
    },
    resolve: (_root, { query, replay }, context) => asData(async (): Promise<Answer | Refusal> => {
      // Waiting for a replay inside a request needs request timeouts and progress, which come later.
      if (replay === "WAIT") return { kind: "error", code: "NOT_YET", message: `replay: ${replay} is not served yet; use NONE, or flor query --replay ${replay.toLowerCase()}`, line: null, column: null, hint: null };
      const plan = await planFor(context, query);
      const explain = explainText(plan);
      if (plan.analyzed.query.explain) return { kind: "answer", columns: [], rows: [], explain, job: null };
      const needsReplay = replay === "ASYNC" && plan.replayRequest !== null && plan.replay !== null && plan.replay.tasks.length > 0;
      if (needsReplay) requireToken(context, "florql with replay: ASYNC");
      const result = await runQuery(context.store, plan, (request) => startReplay(context, request), needsReplay ? "async" : "none");
      return { kind: "answer", columns: result.columns, rows: result.rows, explain, job: result.job };
    }),
  }),
  explain: t.field({
    type: ExplainResultRef,
    description: "The plan of a FlorQL query, as flor explain prints it; nothing is run.",
    args: { query: t.arg.string({ required: true }) },
    resolve: (_root, { query }, context) => asData(async (): Promise<Explanation | Refusal> => ({ kind: "explanation", explain: explainText(await planFor(context, query)) })),
  }),
}));

function planFor({ store, layout, workers }: FlorContext, query: string): Promise<QueryPlan> {
  return planQuery(store, layout, query, { workers });
}

/** The user's mistakes become FlorqlError values; anything else stays an error, which yoga masks. */
export async function asData<T>(work: () => Promise<T>): Promise<T | Refusal> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FlorQLError) return { kind: "error", code: error.code, message: error.summary, line: error.span.line, column: error.span.column, hint: error.hint ?? null };
    if (error instanceof FlorUsageError) return { kind: "error", code: "USAGE", message: error.message, line: null, column: null, hint: error.hint ?? null };
    throw error;
  }
}
