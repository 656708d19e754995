import { explainText } from "../../florql/explain.js";
import { planQuery, runQuery, type ReplayMode } from "../../florql/query-service.js";
import { requestReplay } from "../../replay/replay-service.js";
import { render, type OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";
import { jobProblems, runJob, startJob } from "../job-runner.js";
import type { CommandOutput } from "./propagate.js";

export interface QueryCommandOptions {
  explain: boolean;
  replay: ReplayMode;
  format: OutputFormat;
  workers: number;
}

/**
 * `flor query "<florql>"` and `flor explain "<florql>"` (or a query starting with EXPLAIN): plans the
 * query, fills missing values by replay as `--replay` says, and prints the table.
 */
export async function queryCommand(text: string, options: QueryCommandOptions): Promise<CommandOutput> {
  return withProject("query", async ({ layout, store }) => {
    const plan = await planQuery(store, layout, text, { workers: options.workers });
    if (options.explain || plan.analyzed.query.explain) return { stdout: explainText(plan), stderr: "", exitCode: 0 };
    let note = "";
    const result = await runQuery(store, plan, async (request, replayPlan, mode) => {
      const { jobId } = await requestReplay(store, layout, request, { workers: options.workers });
      if (mode === "async") {
        note = `flor: ${await startJob(store, layout, jobId, options.workers)}\n`;
        return null;
      }
      process.stderr.write(`flor: filling ${replayPlan.names.join(", ")} by replay (${replayPlan.tasks.length} tasks, estimated ${replayPlan.estimate.wallSeconds.toFixed(1)} s)\n`);
      return runJob(store, layout, jobId, true, options.workers);
    }, options.replay);
    let stderr = note;
    if (result.job !== null && result.job.status !== "done") {
      stderr += `${await jobProblems(store, result.job.id)}flor: replay job ${result.job.id} ended ${result.job.status}: ${result.job.error ?? ""}; values it could not fill are empty\n`;
    }
    if (result.job !== null && result.job.divergences > 0) stderr += `flor: warning: replay job ${result.job.id} did not reproduce ${result.job.divergences} recorded value(s); see flor replay's report\n`;
    if (options.replay === "none" && plan.replay !== null && plan.replay.tasks.length > 0) stderr += `flor: ${plan.replay.names.join(", ")} missing for ${plan.replay.runs.filter((r) => r.outcome === "replay").length} run(s); run with --replay wait to fill them\n`;
    for (const { name, runs, reasons } of plan.unfillable) stderr += `flor: cannot fill ${name} for ${runs} run(s): ${reasons.join("; ")}\n`;
    return { stdout: render(result.columns, result.rows, options.format), stderr, exitCode: 0 };
  });
}
