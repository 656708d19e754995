import type { DivergedRun, JobProblem, JobReport, JobState, PlanSummary, QueryAnswer, ReplayMode, ReplayOutcome } from "../app/flor-api.js";
import type { JsonValue } from "../journal/records.js";
import type { DivergenceSummary } from "../store/queries/replay-divergences.js";
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
  if (format !== "table")
    return render(["projid", "tstamp", "filename", "vid", "status", "seconds", "logs", "replayed", "args", "error"], runs, format);
  const rows = runs.map((run) => ({
    ...run,
    vid: run.vid?.slice(0, 10) ?? null,
    seconds: run.seconds === null ? null : Number(run.seconds.toFixed(3)),
    args: Object.entries(run.args)
      .map(([k, v]) => `${k}=${argText(v)}`)
      .join(" "),
  }));
  return render(["tstamp", "filename", "vid", "status", "seconds", "logs", "replayed", "args", "error"], rows, format);
}

export function renderVersions(versions: readonly CodeVersion[], format: OutputFormat): string {
  if (format !== "table")
    return render(["vid", "kind", "base", "message", "committedAt", "firstRun", "lastRun", "runs", "filenames"], versions, format);
  const rows = versions.map((v) => ({ ...v, vid: v.vid.slice(0, 10), filenames: v.filenames.join(" ") }));
  return render(["vid", "kind", "message", "firstRun", "lastRun", "runs", "filenames"], rows, format);
}

/**
 * How a replay job ended, one row: tasks, iterations executed, values stored, divergences, tasks redone
 * from the run's start, and values stored unverified.
 */
export function jobSummary(job: JobState, format: OutputFormat): string {
  return render(Object.keys(summaryRow(job)), [summaryRow(job)], format);
}

function summaryRow(job: JobState) {
  return {
    job: job.id,
    status: job.status,
    tasks: job.tasks.total,
    failed: job.tasks.failed,
    iterations: job.iterations.done,
    values: job.values,
    divergences: job.divergences,
    redone: job.redone,
    unverified: job.unverified,
  };
}

const DIVERGENCE_COLUMNS = [
  "run",
  "filename",
  "name",
  "coordinates",
  "occurrence",
  "recorded",
  "replayed",
  "difference",
  "relative",
  "stage",
  "detail",
] as const;

/** How many divergences the table form of a report lists (json and csv list them all). */
const TABLE_DIVERGENCES = 100;

/**
 * `flor replay --job N`: the job's summary, each run whose replay diverged (what differed first, by
 * how much, the likely cause, the redo from the run's start and its outcome), then the divergences:
 * run, name, coordinates, recorded, replayed, difference. JSON is one object with all of it; CSV is
 * the divergences.
 */
export function jobReportText(report: JobReport, format: OutputFormat): string {
  const rows = report.divergences.map((d) => ({
    ...d,
    coordinates: coordinatesText(d.coordinates),
    difference: d.absolute,
    stage: d.stage ?? "-",
  }));
  if (format === "csv") return render(DIVERGENCE_COLUMNS, rows, "csv");
  // For people, differences to 4 digits and relative ones in percent; recorded and replayed values stay exact.
  const readable = rows.map((row) => ({
    ...row,
    difference: row.absolute === null ? null : formatNumber(row.absolute),
    relative: row.relative === null ? null : `${formatNumber(row.relative * 100)}%`,
  }));
  if (format === "json")
    return `${JSON.stringify(
      { job: summaryRow(report.job), runs: report.runs, divergences: report.divergences, divergenceCount: report.divergenceCount },
      (_key, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : value),
      2,
    )}\n`;
  let text = jobSummary(report.job, "table");
  if (report.runs.length > 0) text += `\nruns whose replay diverged:\n${report.runs.map((run) => runLines(run, "  ")).join("")}`;
  if (rows.length > 0) {
    text += `\ndivergences:\n${render(
      DIVERGENCE_COLUMNS.filter((c) => c !== "filename"),
      readable.slice(0, TABLE_DIVERGENCES),
      "table",
    )}`;
    if (report.divergenceCount > TABLE_DIVERGENCES)
      text += `(${report.divergenceCount - TABLE_DIVERGENCES} more; --format csv or json lists them all)\n`;
  }
  return text;
}

/** What a run's replays showed and what was done, for people: one line per stage that diverged, then the likely cause. */
function runLines(run: DivergedRun, indent: string): string {
  const { checkpoints, start, cause } = run.diagnosis;
  const where = `run ${run.run} (${run.filename})`;
  let text = "";
  if (checkpoints !== null)
    text += `${indent}${where}: the replay from a checkpoint diverged: ${summaryText(checkpoints)}; replayed from the run's start instead: ${
      start === null ? "exact" : "diverged too"
    }\n`;
  if (start !== null)
    text += `${indent}${checkpoints === null ? `${where}: the replay from the run's start diverged` : "  the replay from the start"}: ${summaryText(start)}; ${run.unverified} value(s) stored marked unverified\n`;
  return `${text}${indent}  likely cause: ${cause}\n`;
}

function summaryText(summary: DivergenceSummary): string {
  const { first } = summary;
  const at = Object.keys(first.coordinates).length === 0 ? "outside every loop" : `at ${coordinatesText(first.coordinates)}`;
  const largest =
    summary.maxAbs === null
      ? ""
      : `, largest difference ${formatNumber(summary.maxAbs)}${summary.maxRel === null ? "" : ` (${formatNumber(summary.maxRel * 100)}%)`}`;
  return `${summary.count} value(s) of ${summary.names.join(", ")} differ, first ${first.name} ${at} (recorded ${JSON.stringify(first.recorded)}, replayed ${JSON.stringify(first.replayed)})${largest}`;
}

function coordinatesText(coordinates: Record<string, JsonValue>): string {
  const entries = Object.entries(coordinates);
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${argText(v)}`).join(" ");
}

function formatNumber(value: number): string {
  return Number(value.toPrecision(4)).toString();
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

/**
 * The stderr lines after an answer: how the replay it waited for ended, which of the answer's values
 * are unverified (on every answer that has such values: the marks are stored with them), what is still
 * missing, and what cannot be filled.
 */
export function answerNotes(
  { job: answerJob, notes, unverified }: Pick<QueryAnswer, "job" | "notes" | "unverified">,
  mode: ReplayMode,
): string {
  const job = notes.started === null ? answerJob : null;
  const replay = notes.missing;
  let stderr = "";
  if (job !== null && job.status !== "done")
    stderr += `${jobProblemLines(notes.problems)}flor: replay job ${job.id} ended ${job.status}: ${job.error ?? ""}; values it could not fill are empty\n`;
  if (job !== null && job.redone > 0)
    stderr += `flor: replay job ${job.id}: ${job.redone} task(s) diverged when replayed from checkpoints and were replayed from the run's start instead; see \`flor replay --job ${job.id}\`\n`;
  for (const { name, rows } of unverified)
    stderr += `flor: warning: ${rows} row(s) of this answer hold unverified values of ${name}: a replay from the run's start did not reproduce the recorded values; select ${name}__verified to see which\n`;
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
    `estimate: ${plan.tasks.length} tasks, ${cpuSeconds.toFixed(1)} s of work, ${wallSeconds.toFixed(1)} s with ${plan.estimate.workers} of ${plan.workers} workers ` +
      `(re-running those runs from scratch: ${fullSeconds.toFixed(1)} s)`,
  );
  return `${lines.join("\n")}\n`;
}

/** What follows a replay's summary: its tasks' problems, the runs whose replays diverged and what was done about them. */
export function replayNotes({ job, problems, report }: ReplayOutcome): string {
  let stderr = jobProblemLines(problems);
  for (const run of report.runs) stderr += runLines(run, "flor: ");
  if (job.unverified > 0)
    stderr += `flor: warning: ${job.unverified} value(s) are stored marked unverified: no replay reproduced their runs' recorded values\n`;
  if (report.divergenceCount > 0)
    stderr += `flor: ${report.divergenceCount} divergence(s) in all; \`flor replay --job ${job.id}\` lists them\n`;
  return stderr;
}

/** What `flor replay --cancel` prints, locally and through `flor serve`; a job that does not exist is an error. */
export function cancelledText(jobId: number, cancelled: boolean, status: string | null): string {
  if (cancelled) return `cancelled replay job ${jobId}\n`;
  if (status === null) throw new FlorError(`there is no replay job ${jobId}`);
  return `replay job ${jobId} had already ended (${status}); nothing to cancel\n`;
}

/** An arg's value as typed on the command line: JSON, but NaN and the infinities by name (JSON has none). */
function argText(value: unknown): string {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
}
