import type { ReplayJob } from "../../store/queries/replay-jobs.js";
import { builder } from "../builder.js";
import { heavy } from "../heavy-work.js";
import { STORED_PLAN_COST } from "../limits.js";
import { JsonScalar } from "./json.js";

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
    divergences: t.exposeInt("divergences", { description: "Recorded values the replay did not reproduce." }),
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
