import type { JsonValue } from "../journal/records.js";
import type { ReplayPlan } from "../replay/replay-plan.js";
import type { ReplayJob } from "../store/queries/replay-jobs.js";
import type { Divergence } from "../store/queries/replay-coverage.js";
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
  /** Fills log names by replay and waits for the job to end. */
  replay(ask: ReplayAsk, hooks?: ReplayHooks): Promise<ReplayOutcome>;
  cancelReplay(jobId: number): Promise<CancelOutcome>;
  close(): Promise<void>;
}

export type ReplayMode = "wait" | "none" | "async";

/** A replay job's state as every transport reports it. */
export type JobState = Pick<ReplayJob, "id" | "status" | "error" | "estimatedSeconds" | "tasks" | "iterations" | "values" | "divergences">;

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

export interface QueryAnswer {
  columns: string[];
  rows: Record<string, JsonValue>[];
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
  /** The first values the replay did not reproduce; null when the transport says only how many. */
  divergences: Divergence[] | null;
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
