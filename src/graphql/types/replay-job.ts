import type { DivergedRun } from "../../app/flor-api.js";
import type { Divergence, DivergenceSummary } from "../../store/queries/replay-divergences.js";
import type { ReplayJob } from "../../store/queries/replay-jobs.js";
import { builder } from "../builder.js";
import { heavy } from "../heavy-work.js";
import { STORED_PLAN_COST } from "../limits.js";
import { JsonScalar } from "./json.js";
import { badInput, connectionRef, type Connection } from "./page-info.js";

/** The most divergences a page holds, and how many when `first` is not given. */
const MAX_DIVERGENCE_PAGE = 1000;
const DEFAULT_DIVERGENCE_PAGE = 100;

type Tasks = ReplayJob["tasks"];
type Iterations = ReplayJob["iterations"];

const ReplayJobStatusEnum = builder.enumType("ReplayJobStatus", {
  values: ["QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"] as const,
});

const ReplayTaskCountsRef = builder.objectRef<Tasks>("ReplayTaskCounts").implement({
  description: "A job's tasks (one per run to replay) by status.",
  fields: (t) => ({
    total: t.exposeInt("total"),
    queued: t.exposeInt("queued"),
    running: t.exposeInt("running"),
    done: t.exposeInt("done"),
    failed: t.exposeInt("failed"),
    cancelled: t.exposeInt("cancelled"),
  }),
});

const ReplayIterationCountsRef = builder.objectRef<Iterations>("ReplayIterationCounts").implement({
  description: "Loop iterations to replay, and those whose tasks are done.",
  fields: (t) => ({
    total: t.exposeInt("total"),
    done: t.exposeInt("done"),
  }),
});

const ReplayDivergenceRef = builder.objectRef<Divergence>("ReplayDivergence").implement({
  description: "A value the run had logged that a replay logged differently (or a loop iteration the recording does not have).",
  fields: (t) => ({
    id: t.exposeString("id", { description: "Increasing in the order divergences were found." }),
    runId: t.exposeInt("runId", { description: "The run (Query.run)." }),
    tstamp: t.string({ description: "The run's start, ISO-8601.", resolve: (d) => d.tstamp.toISOString() }),
    filename: t.exposeString("filename"),
    name: t.exposeString("name", { description: "The log name; `(loop structure)` for an iteration the recording does not have." }),
    coordinates: t.expose("coordinates", {
      type: JsonScalar,
      description: 'Where it was logged, as loop name → iteration (and <loop>_value → item), e.g. {"epoch": 3}; {} outside every loop.',
    }),
    occurrence: t.exposeInt("occurrence", { description: "Which of the name's values at these coordinates (0 for the first)." }),
    recorded: t.expose("recorded", {
      type: JsonScalar,
      nullable: true,
      description: "The value the run logged; null when it logged none.",
    }),
    replayed: t.expose("replayed", { type: JsonScalar, nullable: true }),
    difference: t.float({
      nullable: true,
      description: "|replayed − recorded|, for numbers.",
      resolve: (d) => d.absolute,
    }),
    relative: t.float({
      nullable: true,
      description: "The difference relative to |recorded|, for numbers (null for 0).",
      resolve: (d) => d.relative,
    }),
    stage: t.string({
      nullable: true,
      description:
        "checkpoints: a replay from a checkpoint (its values were refused and the run replayed from its start); start: a replay from the run's start (its values are stored, unverified); null: recorded before replays were checked.",
      resolve: (d) => d.stage,
    }),
    detail: t.exposeString("detail"),
  }),
});

const ReplayDivergenceConnectionRef = connectionRef("ReplayDivergence", ReplayDivergenceRef);

const DivergenceFirstRef = builder.objectRef<DivergenceSummary["first"]>("ReplayDivergenceFirst").implement({
  description: "The earliest value a replay logged differently: where it left the recorded run.",
  fields: (t) => ({
    name: t.exposeString("name"),
    coordinates: t.expose("coordinates", { type: JsonScalar }),
    recorded: t.expose("recorded", { type: JsonScalar, nullable: true }),
    replayed: t.expose("replayed", { type: JsonScalar, nullable: true }),
    detail: t.exposeString("detail"),
  }),
});

const DivergenceSummaryRef = builder.objectRef<DivergenceSummary>("ReplayDivergenceSummary").implement({
  description: "How one replay of a run diverged.",
  fields: (t) => ({
    count: t.exposeInt("count"),
    names: t.exposeStringList("names"),
    first: t.field({ type: DivergenceFirstRef, resolve: (s) => s.first }),
    maxAbs: t.exposeFloat("maxAbs", { nullable: true, description: "The largest |replayed − recorded| among numbers." }),
    maxRel: t.exposeFloat("maxRel", { nullable: true, description: "The largest difference relative to |recorded|." }),
  }),
});

const DivergedRunRef = builder.objectRef<DivergedRun>("ReplayDivergedRun").implement({
  description: "A run whose replay diverged from its recorded values, the likely cause, and what was done.",
  fields: (t) => ({
    tstamp: t.string({ description: "The run's start, ISO-8601.", resolve: (r) => r.run }),
    filename: t.exposeString("filename"),
    vid: t.exposeString("vid", { nullable: true }),
    redone: t.exposeBoolean("redone", { description: "Its replay from a checkpoint diverged, so it was replayed from its start instead." }),
    unverified: t.exposeInt("unverified", { description: "Values stored marked unverified (the replay from its start diverged too)." }),
    fromCheckpoint: t.field({
      type: DivergenceSummaryRef,
      nullable: true,
      description: "How the replay from a checkpoint diverged; its values were not stored.",
      resolve: (r) => r.diagnosis.checkpoints,
    }),
    fromStart: t.field({
      type: DivergenceSummaryRef,
      nullable: true,
      description: "How the replay from the run's start diverged; null when it reproduced the recorded values.",
      resolve: (r) => r.diagnosis.start,
    }),
    cause: t.string({ description: "The likely cause, in words.", resolve: (r) => r.diagnosis.cause }),
    unregistered: t.stringList({
      description: "Module-level variables the loop changes that flor.checkpointing does not register, where propagation sees them.",
      resolve: (r) => r.diagnosis.unregistered,
    }),
  }),
});

export const ReplayJobRef = builder.objectRef<ReplayJob>("ReplayJob").implement({
  description: "A replay job: fills log names that past versions never logged, one task per run.",
  fields: (t) => ({
    id: t.exposeInt("id"),
    status: t.field({
      type: ReplayJobStatusEnum,
      resolve: (job) => job.status.toUpperCase() as "QUEUED" | "RUNNING" | "DONE" | "FAILED" | "CANCELLED",
    }),
    error: t.exposeString("error", { nullable: true }),
    estimatedSeconds: t.exposeFloat("estimatedSeconds", { nullable: true, description: "Estimated wall time when planned." }),
    tasks: t.field({ type: ReplayTaskCountsRef, resolve: (job) => job.tasks }),
    iterations: t.field({ type: ReplayIterationCountsRef, resolve: (job) => job.iterations }),
    values: t.exposeInt("values", { description: "Values written so far." }),
    divergenceCount: t.int({
      description: "Recorded values its replays did not reproduce: the number of divergences.",
      resolve: (job, _args, { session }) => session.divergenceCount(job.id),
    }),
    divergences: t.field({
      type: ReplayDivergenceConnectionRef,
      description: `The recorded values its replays did not reproduce, in the order found, a page at a time (at most ${MAX_DIVERGENCE_PAGE}).`,
      args: {
        first: t.arg.int({ required: false, description: `Page size, 1 to ${MAX_DIVERGENCE_PAGE} (default ${DEFAULT_DIVERGENCE_PAGE}).` }),
        after: t.arg.string({ required: false, description: "The endCursor of the previous page." }),
      },
      resolve: async (job, args, { session }) => {
        const first = args.first ?? DEFAULT_DIVERGENCE_PAGE;
        if (!Number.isInteger(first) || first < 1 || first > MAX_DIVERGENCE_PAGE)
          throw badInput(`first must be between 1 and ${MAX_DIVERGENCE_PAGE}, not ${first}`);
        const after = args.after === null || args.after === undefined ? null : decodeDivergenceCursor(args.after);
        const rows = await session.divergences(job.id, after, first + 1);
        return divergencePage(rows, first, after !== null);
      },
    }),
    divergedRuns: t.field({
      type: [DivergedRunRef],
      description: "The runs whose replays diverged: what was found, the likely cause, the replay from the start and its outcome.",
      resolve: (job, _args, { session }) => session.divergedRuns(job.id),
    }),
    redone: t.exposeInt("redone", {
      description:
        "Tasks whose replay from a checkpoint diverged, so that the run was replayed from its start instead (values refused, then replaced).",
    }),
    unverified: t.exposeInt("unverified", {
      description: "Values stored marked unverified: a replay from the run's start did not reproduce the recorded values either.",
    }),
    createdAt: t.string({ description: "ISO-8601.", resolve: (job) => job.createdAt.toISOString() }),
    finishedAt: t.string({
      nullable: true,
      description: "ISO-8601; null while the job runs.",
      resolve: (job) => job.finishedAt?.toISOString() ?? null,
    }),
    plan: t.field({
      type: JsonScalar,
      nullable: true,
      complexity: STORED_PLAN_COST,
      description:
        "The plan it runs, as planned: names, the runs in scope with each one's outcome (replay, nothing-to-do, declined and why), the tasks and the estimate.",
      resolve: (job, _args, context) => heavy(context, () => context.session.jobPlan(job.id)),
    }),
  }),
});

function divergencePage(rows: readonly Divergence[], first: number, hasPrevious: boolean): Connection<Divergence> {
  const edges = rows
    .slice(0, first)
    .map((node) => ({ cursor: Buffer.from(JSON.stringify(["divergence", node.id])).toString("base64url"), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

function decodeDivergenceCursor(cursor: string): string {
  try {
    const [tag, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (tag === "divergence" && typeof id === "string" && /^\d{1,18}$/.test(id)) return id;
  } catch {
    // Not base64 JSON: reported below like any other foreign cursor.
  }
  throw badInput(`"${cursor}" is not a divergence cursor this server gave out`);
}
