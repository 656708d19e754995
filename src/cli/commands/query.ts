import { explainText } from "../../florql/explain.js";
import { planQuery, runQuery, type ReplayMode } from "../../florql/query-service.js";
import { requestReplay } from "../../replay/replay-service.js";
import { render, type OutputFormat } from "../output.js";
import { withProject } from "../project-session.js";
import { jobProblems, runJob, startJob } from "../job-runner.js";
import { answerNotes, fillingNote } from "../command-text.js";
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
    const result = await runQuery(
      store,
      plan,
      async (request, replayPlan, mode) => {
        const { jobId } = await requestReplay(store, layout, request, { workers: options.workers });
        if (mode === "async") {
          note = `flor: ${await startJob(store, layout, jobId, options.workers)}\n`;
          return null;
        }
        process.stderr.write(fillingNote(replayPlan.names, replayPlan.tasks.length, replayPlan.estimate.wallSeconds));
        return runJob(store, layout, jobId, true, options.workers);
      },
      options.replay,
    );
    const replay =
      plan.replay === null
        ? null
        : {
            names: plan.replay.names,
            runs: plan.replay.runs.filter((r) => r.outcome === "replay").length,
            tasks: plan.replay.tasks.length,
          };
    const problems = result.job !== null && result.job.status !== "done" ? await jobProblems(store, result.job.id) : "";
    const stderr = note + answerNotes({ job: result.job, problems, replay, unfillable: plan.unfillable }, options.replay);
    return { stdout: render(result.columns, result.rows, options.format), stderr, exitCode: 0 };
  });
}
