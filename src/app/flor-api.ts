import type { JsonValue } from "../journal/records.js";
import type { OutputFormat } from "../text/render-table.js";
import type { ReplayPlan } from "../replay/replay-plan.js";
import type { ReplayJob } from "../store/queries/replay-jobs.js";
import type { TaskDiagnosis } from "../store/queries/replay-divergences.js";
import type { RunSummary } from "../store/queries/runs.js";
import type { CodeVersion } from "../versions/versions.js";
import type { StartedReplay } from "./replay-executor.js";

/**
 * What FlorDB answers, whatever carries the question: the project's session in this process
 * (local-api.ts), a running `flor serve` over GraphQL (remote-api.ts), or any later transport. Each CLI
 * command is written once against it. Types only: a transport loads what it needs.
 */
export interface FlorApi {
  runs(): Promise<RunSummary[]>;
  versions(): Promise<CodeVersion[]>;
  /** EXPLAIN's text for a FlorQL query; nothing runs. */
  explain(text: string): Promise<string>;
  /** The answer to a FlorQL query, filling values past versions never logged as `mode` says. */
  answerQuery(text: string, mode: ReplayMode, hooks?: QueryHooks): Promise<QueryAnswer>;
  /**
   * The same answer with its rows printed as `print` says, as pieces of text made where the rows are: a
   * command prints a large answer without it ever crossing (or being held) whole.
   */
  printQuery(text: string, mode: ReplayMode, print: PrintSpec, hooks?: QueryHooks): Promise<Printed<QueryAnswer>>;
  /** Fills log names by replay and waits for the job to end. */
  replay(ask: ReplayAsk, hooks?: ReplayHooks): Promise<ReplayOutcome>;
  cancelReplay(jobId: number): Promise<CancelOutcome>;
  close(): Promise<void>;
}

export type ReplayMode = "wait" | "none" | "async";

/** A replay job's state as every transport reports it. */
export type JobState = Pick<
  ReplayJob,
  "id" | "status" | "error" | "estimatedSeconds" | "tasks" | "iterations" | "values" | "divergences" | "redone" | "unverified"
>;

/** An event of a job that says what went wrong: a task that failed, or one that could not use checkpoints. */
export interface JobProblem {
  kind: string;
  taskId: number | null;
  data: JsonValue | unknown;
}

/** Values the answer lacks that replay can fill. */
export interface MissingValues {
  names: string[];
  /** Runs to replay. */
  runs: number;
  tasks: number;
  estimatedSeconds: number;
}

export interface Unfillable {
  name: string;
  runs: number;
  reasons: string[];
}

/** The facts around an answer that are not rows: the CLI prints them to stderr, GraphQL returns them. */
export interface QueryNotes {
  /** What replay would fill (or, after a wait, what it filled); null when nothing is missing. */
  missing: MissingValues | null;
  unfillable: Unfillable[];
  /** The job started without waiting for it (async), and where it runs. */
  started: StartedReplay | null;
  /** Why tasks of the job that was waited for failed or fell back, when it did not end done. */
  problems: JobProblem[];
}

/** A log name whose values in an answer include some that no replay could verify. */
export interface UnverifiedValues {
  name: string;
  /** Rows of the answer that hold (or, aggregated, draw on) such values. */
  rows: number;
}

export interface QueryAnswer {
  columns: string[];
  rows: Record<string, JsonValue>[];
  /** The query's log names whose values in these rows include unverified ones (the marks are stored with the values). */
  unverified: UnverifiedValues[];
  /** The plan as EXPLAIN prints it. */
  explain: string;
  /** Whether the query was an EXPLAIN (then there are no columns or rows). */
  explained: boolean;
  /** The replay job that filled (wait) or is filling (async) missing values. */
  job: JobState | null;
  /** Whether the rows hold every value the plan can fill. */
  complete: boolean;
  notes: QueryNotes;
}

/** How a command prints rows (see renderPieces). */
export interface PrintSpec {
  format: OutputFormat;
  /** Columns a table shows by their first 10 characters (vids). */
  short: readonly string[];
}

/** An answer whose rows are printed: the text in pieces (strings, or UTF-8 bytes), in order, to be read once. */
export type Printed<T extends { rows: unknown }> = Omit<T, "rows"> & { text: Iterable<string> | AsyncIterable<string | Uint8Array> };

export interface QueryHooks {
  /** Before values are filled and waited for: what will be filled. */
  onFilling?: (missing: MissingValues) => void;
  onProgress?: (job: JobState) => void;
}

/** A replay as people ask for it: log names, a FlorQL predicate, a script. */
export interface ReplayAsk {
  names: string[];
  where?: string | undefined;
  script?: string | undefined;
}

/** A replay plan as planned or as stored with its job (tasks without their patched sources). */
export type PlanSummary = Omit<ReplayPlan, "tasks"> & { tasks: readonly unknown[] };

export interface ReplayHooks {
  /** The job is requested: its plan, or null when the same replay was running already (then it is followed). */
  onRequested?: (jobId: number, plan: PlanSummary | null) => void;
  onProgress?: (job: JobState) => void;
}

export interface ReplayOutcome {
  job: JobState;
  problems: JobProblem[];
  report: JobReport;
}

/** A value a replay did not reproduce, as every transport reports it. */
export interface DivergenceRow {
  /** The run's start time (ISO-8601) and script. */
  run: string;
  filename: string;
  name: string;
  /** Loop name → iteration (and `<loop>_value` → item) where it was logged; {} outside every loop. */
  coordinates: Record<string, JsonValue>;
  occurrence: number;
  recorded: JsonValue | null;
  replayed: JsonValue | null;
  /** |replayed − recorded| and that relative to |recorded|, for numbers. */
  absolute: number | null;
  relative: number | null;
  /** `checkpoints`: a replay from a checkpoint (its values refused, the run replayed from its start); `start`: a replay from the run's start (its values stored unverified). */
  stage: "checkpoints" | "start" | null;
  detail: string;
}

/** A run whose replay in a job diverged: what was found, the likely cause, and what was done about it. */
export interface DivergedRun {
  run: string;
  filename: string;
  vid: string | null;
  /** Replayed again from its start after its replay from a checkpoint diverged. */
  redone: boolean;
  /** Values stored marked unverified. */
  unverified: number;
  diagnosis: TaskDiagnosis;
}

/** What a replay job did not reproduce, and what it did about it. */
export interface JobReport {
  job: JobState;
  runs: DivergedRun[];
  /** Divergences in the order they were found: all of them, or the first ones when `divergenceCount` says there are more. */
  divergences: DivergenceRow[];
  divergenceCount: number;
}

export interface CancelOutcome {
  cancelled: boolean;
  /** The job's status now; null when there is no such job. */
  status: string | null;
}

/** The events of a job that are problems. */
export function problemsOf<T extends { kind: string }>(events: readonly T[]): T[] {
  return events.filter((e) => e.kind === "task-failed" || e.kind === "task-fallback");
}
