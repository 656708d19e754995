import { FlorError } from "../errors.js";
import type { ReplayMode } from "../florql/query-service.js";
import { replayRunsTable } from "../replay/describe-runs.js";
import type { ReplayJob } from "../replay/replay-jobs.js";
import type { ReplayPlan } from "../replay/replay-plan.js";
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
export function jobSummary(
  job: Pick<ReplayJob, "id" | "status" | "tasks" | "iterations" | "values" | "divergences">,
  format: OutputFormat,
): string {
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

/** What went wrong in a job, one line per failed task or fallback, from its events (stored or through the API). */
export function jobProblemLines(events: readonly { kind: string; taskId: number | null; data: unknown }[]): string {
  let text = "";
  for (const event of events.filter((e) => e.kind === "task-failed" || e.kind === "task-fallback")) {
    const data = event.data as { error?: string; reason?: string };
    text += `flor: task ${event.taskId} ${event.kind === "task-failed" ? `failed: ${data.error}` : `could not use checkpoints (${data.reason}); replayed the whole script`}\n`;
  }
  return text;
}

export function fillingNote(names: readonly string[], tasks: number, wallSeconds: number): string {
  return `flor: filling ${names.join(", ")} by replay (${tasks} tasks, estimated ${wallSeconds.toFixed(1)} s)\n`;
}

/** What the notes after a query's answer need, from a local plan or from the API. */
export interface AnswerFacts {
  job: Pick<ReplayJob, "id" | "status" | "error" | "divergences"> | null;
  /** Why tasks of the job failed or fell back, one line each. */
  problems: string;
  /** The replay that would fill missing values; null when nothing is missing. */
  replay: { names: readonly string[]; runs: number; tasks: number } | null;
  unfillable: readonly { name: string; runs: number; reasons: readonly string[] }[];
}

/** The stderr lines after an answer: how its replay ended, what is still missing, and what cannot be filled. */
export function answerNotes({ job, problems, replay, unfillable }: AnswerFacts, mode: ReplayMode): string {
  let stderr = "";
  if (job !== null && job.status !== "done")
    stderr += `${problems}flor: replay job ${job.id} ended ${job.status}: ${job.error ?? ""}; values it could not fill are empty\n`;
  if (job !== null && job.divergences > 0)
    stderr += `flor: warning: replay job ${job.id} did not reproduce ${job.divergences} recorded value(s); see flor replay's report\n`;
  if (mode === "none" && replay !== null && replay.tasks > 0)
    stderr += `flor: ${replay.names.join(", ")} missing for ${replay.runs} run(s); run with --replay wait to fill them\n`;
  for (const { name, runs, reasons } of unfillable) stderr += `flor: cannot fill ${name} for ${runs} run(s): ${reasons.join("; ")}\n`;
  return stderr;
}

/** A replay plan as planned or as stored with its job (tasks without their patched sources). */
export type PlanSummary = Omit<ReplayPlan, "tasks"> & { tasks: readonly unknown[] };

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

/** What `flor replay --cancel` prints, locally and through `flor serve`; a job that does not exist is an error. */
export function cancelledText(jobId: number, cancelled: boolean, status: string | null): string {
  if (cancelled) return `cancelled replay job ${jobId}\n`;
  if (status === null) throw new FlorError(`there is no replay job ${jobId}`);
  return `replay job ${jobId} had already ended (${status}); nothing to cancel\n`;
}
