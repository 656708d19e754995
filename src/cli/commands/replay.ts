import { planReplay, type ReplayPlan, type ReplayRequest, type ScopePredicate } from "../../replay/replay-plan.js";
import { requestReplay } from "../../replay/replay-service.js";
import { cancelJob, getJob } from "../../replay/replay-jobs.js";
import { jobProblems, runJob } from "../job-runner.js";
import type { Store } from "../../store/open-store.js";
import type { ProjectLayout } from "../../project-layout.js";
import type { OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";
import { cancelledText, describePlan, jobSummary } from "../command-text.js";
import type { CommandOutput } from "./propagate.js";

export interface ReplayCommandOptions {
  names: string[];
  /** Run this existing job's queued tasks (what `flor query --replay async` starts in the background). */
  job: number | undefined;
  where: string | undefined;
  script: string | undefined;
  dryRun: boolean;
  workers: number;
  format: OutputFormat;
}

/**
 * `flor replay --cancel N`: its queued tasks never start, and the processes running its tasks stop them.
 * Nothing the job stored is undone (each finished task's values are complete for what it covered).
 */
export async function cancelReplayCommand(jobId: number): Promise<string> {
  return withProject("replay --cancel", async ({ store }) =>
    cancelledText(jobId, await cancelJob(store.db, jobId), (await getJob(store.db, jobId))?.status ?? null),
  );
}

/**
 * `flor replay <names...>`: fills the names in past runs by propagation and selective replay. With
 * `--dry-run` it prints the plan and its cost estimate and runs nothing.
 */
export async function replayCommand(options: ReplayCommandOptions): Promise<CommandOutput> {
  if (options.job !== undefined) {
    const jobId = options.job;
    return withProject(
      "replay",
      async ({ layout, store }) => {
        const job = await runJob(store, layout, jobId, false, options.workers);
        return { stdout: jobSummary(job, options.format), stderr: "", exitCode: job.status === "done" ? 0 : 1 };
      },
      { waitSeconds: 300 },
    );
  }
  return withProject("replay", async ({ layout, store }) => {
    const request: ReplayRequest = {
      names: options.names,
      ...(options.script === undefined ? {} : { filename: options.script }),
      ...(options.where === undefined ? {} : { where: await scope(options.where, store, layout), whereText: options.where }),
    };
    if (options.dryRun) {
      const plan = await planReplay(store, layout, request, { workers: options.workers });
      return {
        stdout: options.format === "json" ? `${JSON.stringify(publicPlan(plan), null, 2)}\n` : describePlan(plan),
        stderr: "",
        exitCode: 0,
      };
    }
    const { jobId, plan } = await requestReplay(store, layout, request, { workers: options.workers });
    let stderr = "";
    if (plan === null) process.stderr.write(`flor: the same replay is already running as job ${jobId}; following it\n`);
    else process.stderr.write(describePlan(plan));
    const job = await runJob(store, layout, jobId, plan !== null, options.workers);
    stderr += await jobProblems(store, jobId);
    const divergences = await store.db
      .selectFrom("replay_divergences as d")
      .innerJoin("replay_tasks as t", "t.id", "d.task_id")
      .innerJoin("runs as r", "r.id", "d.run_id")
      .select(["r.tstamp", "d.name", "d.occurrence", "d.recorded", "d.replayed", "d.detail"])
      .where("t.job_id", "=", jobId)
      .orderBy("r.tstamp")
      .limit(20)
      .execute();
    if (divergences.length > 0) {
      stderr += `flor: warning: the replay did not reproduce ${job.divergences} recorded value(s); the replayed values may not be faithful:\n`;
      for (const d of divergences)
        stderr += `  run ${d.tstamp.toISOString()}: ${d.name} #${d.occurrence}: recorded ${JSON.stringify(d.recorded)}, replayed ${JSON.stringify(d.replayed)} (${d.detail})\n`;
    }
    return { stdout: jobSummary(job, options.format), stderr, exitCode: job.status === "done" ? 0 : 1 };
  });
}

/** The --where predicate; the FlorQL parser is loaded only when there is one. */
async function scope(where: string, store: Store, layout: ProjectLayout): Promise<ScopePredicate> {
  const { projectScope } = await import("../../florql/scope-predicate.js");
  return projectScope(where, store, layout);
}

/** The plan without the patched sources (which are for workers, not people). */
function publicPlan(plan: ReplayPlan): object {
  return {
    ...plan,
    tasks: plan.tasks.map(({ runId, estimatedSeconds, iterations, spec }) => ({
      runId,
      estimatedSeconds,
      iterations,
      ranges: spec.segments.map((s) => [s.from, s.to]),
      before: spec.before,
      after: spec.after,
    })),
  };
}
