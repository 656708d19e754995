import type { JobProblem, JobState, PlanSummary, QueryAnswer, ReplayMode, ReplayOutcome } from "../app/flor-api.js";
import type { StartedReplay } from "../app/replay-executor.js";
import { FlorError } from "../errors.js";
import { replayRunsTable } from "../replay/describe-runs.js";
import type { RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import { render, type OutputFormat } from "./output.js";

/**
 * What commands print, from data that came from the store or from `flor serve` alike, so the two paths
 * print the same. Only light modules here: the path through the server loads no store or parser.
 */

export function renderRuns(runs: readonly RunSummary[], format: OutputFormat): string {
  if (format !== "table") return render(["projid", "tstamp", "filename", "vid", "status", "seconds", "logs", "args"], runs, format);
  const rows = runs.map((run) => ({
    ...run,
    vid: run.vid?.slice(0, 10) ?? null,
    seconds: run.seconds === null ? null : Number(run.seconds.toFixed(3)),
    args: Object.entries(run.args)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(" "),
  }));
  return render(["tstamp", "filename", "vid", "status", "seconds", "logs", "args"], rows, format);
}

export function renderVersions(versions: readonly CodeVersion[], format: OutputFormat): string {
  if (format !== "table")
    return render(["vid", "kind", "base", "message", "committedAt", "firstRun", "lastRun", "runs", "filenames"], versions, format);
  const rows = versions.map((v) => ({ ...v, vid: v.vid.slice(0, 10), filenames: v.filenames.join(" ") }));
  return render(["vid", "kind", "message", "firstRun", "lastRun", "runs", "filenames"], rows, format);
}

/** How a replay job ended, one row: tasks, iterations executed, values stored, divergences. */
export function jobSummary(job: JobState, format: OutputFormat): string {
  const summary = {
    job: job.id,
    status: job.status,
    tasks: job.tasks.total,
    failed: job.tasks.failed,
    iterations: job.iterations.done,
    values: job.values,
    divergences: job.divergences,
  };
  return render(Object.keys(summary), [summary], format);
}

/** What went wrong in a job, one line per failed task or fallback. */
export function jobProblemLines(problems: readonly JobProblem[]): string {
  let text = "";
  for (const event of problems) {
    const data = event.data as { error?: string; reason?: string };
    text += `flor: task ${event.taskId} ${event.kind === "task-failed" ? `failed: ${data.error}` : `could not use checkpoints (${data.reason}); replayed the whole script`}\n`;
  }
  return text;
}

export function fillingNote(names: readonly string[], tasks: number, wallSeconds: number): string {
  return `flor: filling ${names.join(", ")} by replay (${tasks} tasks, estimated ${wallSeconds.toFixed(1)} s)\n`;
}

/** Where a replay that the command did not wait for runs, and how to see its values. */
export function startedNote(started: StartedReplay | null): string {
  if (started === null) return "";
  if (started.runner === "queue") return `flor: replay job ${started.jobId} is queued for \`flor worker\` processes\n`;
  const where = started.runner === "server" ? `runs in \`flor serve\` (pid ${started.pid})` : `runs in the background (pid ${started.pid})`;
  return `flor: replay job ${started.jobId} ${where}; \`flor query\` again shows its values as they land\n`;
}

/** The stderr lines after an answer: how the replay it waited for ended, what is still missing, and what cannot be filled. */
export function answerNotes({ job: answerJob, notes }: Pick<QueryAnswer, "job" | "notes">, mode: ReplayMode): string {
  const job = notes.started === null ? answerJob : null;
  const replay = notes.missing;
  let stderr = "";
  if (job !== null && job.status !== "done")
    stderr += `${jobProblemLines(notes.problems)}flor: replay job ${job.id} ended ${job.status}: ${job.error ?? ""}; values it could not fill are empty\n`;
  if (job !== null && job.divergences > 0)
    stderr += `flor: warning: replay job ${job.id} did not reproduce ${job.divergences} recorded value(s); see flor replay's report\n`;
  if (mode === "none" && replay !== null && replay.tasks > 0)
    stderr += `flor: ${replay.names.join(", ")} missing for ${replay.runs} run(s); run with --replay wait to fill them\n`;
  for (const { name, runs, reasons } of notes.unfillable) stderr += `flor: cannot fill ${name} for ${runs} run(s): ${reasons.join("; ")}\n`;
  return stderr;
}

/** The plan for people: what runs, which iterations, why not, and what it should cost. */
export function describePlan(plan: PlanSummary): string {
  const replay = plan.runs.filter((r) => r.outcome === "replay");
  const lines = [
    `replay ${plan.names.join(", ")}${plan.where === null ? "" : ` where ${plan.where}`}: ${plan.runs.length} runs in scope, ${replay.length} to replay, ` +
      `${plan.runs.filter((r) => r.outcome === "nothing-to-do").length} with nothing to do, ${plan.runs.filter((r) => r.outcome === "declined").length} declined`,
  ];
  // The table reads only the runs.
  if (replay.length > 0) lines.push(replayRunsTable({ ...plan, tasks: [] }));
  for (const run of plan.runs) {
    for (const name of run.names.filter((n) => n.status === "declined"))
      lines.push(`  declined ${name.name} for run ${run.tstamp}: ${name.reason}`);
    for (const note of run.notes) lines.push(`  note for run ${run.tstamp}: ${note}`);
  }
  const { cpuSeconds, wallSeconds, fullSeconds } = plan.estimate;
  lines.push(
    `estimate: ${plan.tasks.length} tasks, ${cpuSeconds.toFixed(1)} s of work, ${wallSeconds.toFixed(1)} s with ${plan.workers} workers ` +
      `(re-running those runs from scratch: ${fullSeconds.toFixed(1)} s)`,
  );
  return `${lines.join("\n")}\n`;
}

/** What follows a replay's summary: its tasks' problems and the values it did not reproduce. */
export function replayNotes({ job, problems, divergences }: ReplayOutcome): string {
  let stderr = jobProblemLines(problems);
  if (job.divergences > 0) {
    stderr += `flor: warning: the replay did not reproduce ${job.divergences} recorded value(s); the replayed values may not be faithful${divergences === null ? "" : ":"}\n`;
    for (const d of divergences ?? [])
      stderr += `  run ${d.tstamp.toISOString()}: ${d.name} #${d.occurrence}: recorded ${JSON.stringify(d.recorded)}, replayed ${JSON.stringify(d.replayed)} (${d.detail})\n`;
  }
  return stderr;
}

/** What `flor replay --cancel` prints, locally and through `flor serve`; a job that does not exist is an error. */
export function cancelledText(jobId: number, cancelled: boolean, status: string | null): string {
  if (cancelled) return `cancelled replay job ${jobId}\n`;
  if (status === null) throw new FlorError(`there is no replay job ${jobId}`);
  return `replay job ${jobId} had already ended (${status}); nothing to cancel\n`;
}
