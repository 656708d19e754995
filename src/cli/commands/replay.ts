import type { FlorApi, ReplayAsk } from "../../app/flor-api.js";
import type { StoreApi } from "../../app/store-api.js";
import type { ReplayPlan } from "../../replay/replay-plan.js";
import { cancelledText, describePlan, jobReportText, jobSummary, replayNotes } from "../command-text.js";
import type { CommandOutput, OutputFormat } from "../output.js";
import { ReplayProgress } from "../progress.js";

/**
 * `flor replay <names...>`: fills the names in past runs by propagation and selective replay, printing
 * the plan, progress, then a summary of how the job ended.
 */
export async function replayCommand(api: FlorApi, ask: ReplayAsk, format: OutputFormat): Promise<CommandOutput> {
  const progress = new ReplayProgress();
  const outcome = await api
    .replay(ask, {
      onRequested: (jobId, plan) =>
        process.stderr.write(
          plan === null ? `flor: the same replay is already running as job ${jobId}; following it\n` : describePlan(plan),
        ),
      onProgress: (job) => progress.update(job),
    })
    .finally(() => progress.end());
  return { stdout: jobSummary(outcome.job, format), stderr: replayNotes(outcome), exitCode: outcome.job.status === "done" ? 0 : 1 };
}

/** `flor replay --dry-run`: the plan and its cost estimate (`--format json`: the whole plan); nothing runs. */
export async function dryRunCommand(session: StoreApi, ask: ReplayAsk, format: OutputFormat): Promise<CommandOutput> {
  const { plan } = await session.planReplay(ask);
  return { stdout: format === "json" ? `${JSON.stringify(publicPlan(plan), null, 2)}\n` : describePlan(plan), stderr: "", exitCode: 0 };
}

/**
 * `flor replay --job N`: runs what is left of job N (what `flor query --replay async` starts in the
 * background), then prints its report: the summary, the runs whose replays diverged, and the divergences.
 */
export async function runJobCommand(session: StoreApi, jobId: number, format: OutputFormat): Promise<CommandOutput> {
  const progress = new ReplayProgress();
  const job = await session.runJob(jobId, false, (state) => progress.update(state)).finally(() => progress.end());
  const report = (await session.jobReport(job.id))!;
  return { stdout: jobReportText(report, format), stderr: "", exitCode: job.status === "done" ? 0 : 1 };
}

/**
 * `flor replay --cancel N`: its queued tasks never start, and the processes running its tasks stop them.
 * Nothing the job stored is undone (each finished task's values are complete for what it covered).
 */
export async function cancelCommand(api: FlorApi, jobId: number): Promise<string> {
  const { cancelled, status } = await api.cancelReplay(jobId);
  return cancelledText(jobId, cancelled, status);
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
