import type { ColumnType, Generated } from "kysely";
import type { JsonValue, RunStatus } from "../journal/records.js";

/** Tables live in the PostgreSQL schema `flor`, so a shared server's other tables are never in the way. */
export const STORE_SCHEMA = "flor";

type Json = ColumnType<JsonValue, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ProjectsTable {
  id: Generated<number>;
  projid: string;
  created_at: Generated<Timestamp>;
}

export interface RunsTable {
  id: Generated<number>;
  project_id: number;
  tstamp: Timestamp;
  filename: string;
  vid: string | null;
  status: RunStatus;
  pid: number | null;
  hostname: string | null;
  argv: Json;
  node_version: string | null;
  ended_at: Timestamp | null;
  seconds: number | null;
  exit_code: number | null;
  error: string | null;
  /** Why the run's checkpoints cannot be restored, from its journal's failed ckcheck record; null otherwise. */
  checkpoints_unusable: string | null;
  /** The run's ckpolicy record: what its checkpoint policy decided. */
  checkpoint_policy: Json | null;
  /** Seconds from the process's start to the first flordb call (imports), from the run header; null when absent. */
  import_seconds: Generated<number | null>;
}

export interface ArgsTable {
  run_id: number;
  name: string;
  value: Json;
  source: string;
}

/**
 * A run of consecutive contexts of one loop execution: contexts `ctx_id` … `ctx_id + count - 1` are its
 * iterations `iteration` … `iteration + count - 1` (see src/journal/context-ranges.ts). Ranges never
 * cross a context id that is a multiple of RANGE_SPAN. `outer_dims` holds the index (and item) of every
 * enclosing loop; `value` the item of a range of one iteration whose item is a JSON scalar. Iteration
 * times are summed per range: `seconds` over `timed` iterations.
 */
export interface LoopRangesTable {
  run_id: number;
  ctx_id: number;
  count: number;
  parent_ctx_id: number | null;
  name: string;
  iteration: number;
  value: Json | null;
  depth: number;
  outer_dims: Json;
  seconds: number | null;
  timed: number;
}

/** Contexts per stored range at most: a point lookup on a loop's index reads one range's values. */
export const RANGE_SPAN = 4096;

/**
 * The values of one name that a run logged in one loop range (or outside every loop: `ctx_id` null, else
 * the range's first context): what a query on loop dimensions selects before it reads any value.
 */
export interface LogStreamsTable {
  id: Generated<number>;
  run_id: number;
  name: string;
  ctx_id: number | null;
}

/**
 * Logged values, by stream (the run, name and loop range): numbers in `num` (NaN and ±Infinity included),
 * everything else as JSON in `value`; `seq` orders them (the journal line; replayed ones from 1e9).
 */
export interface LogValuesTable {
  stream_id: number;
  ctx_id: number | null;
  seq: number;
  num: number | null;
  value: Json | null;
  /** True only on a replayed value that no replay could verify (see LogsTable). */
  unverified: boolean | null;
}

/**
 * Per stream, partial aggregates of its values, kept by ingest (run journals and replays) in the
 * transaction that stores them: every value, those that are not NULL (nor JSON null), the numbers
 * among them (`num`, or a JSON number) with their sum, min and max in PostgreSQL's float8 order (NaN
 * above every number), and the values marked unverified.
 */
export interface LogStreamStatsTable {
  stream_id: number;
  value_count: ColumnType<string, number, number>;
  present_count: ColumnType<string, number, number>;
  number_count: ColumnType<string, number, number>;
  num_sum: number | null;
  num_min: number | null;
  num_max: number | null;
  unverified_count: ColumnType<string, number, number>;
}

/** A view of loop_ranges with one row per iteration (a context): `dims` holds the iteration (and item) of every enclosing loop. */
export interface LoopsTable {
  run_id: number;
  ctx_id: number;
  parent_ctx_id: number | null;
  name: string;
  iteration: number;
  value: Json | null;
  depth: number;
  dims: Json;
  seconds: number | null;
}

/** One row per whole loop execution, with its start offset and duration (for cost estimates). */
export interface LoopSummariesTable {
  run_id: number;
  parent_ctx_id: number | null;
  name: string;
  iterations: number;
  start_offset: number;
  seconds: number;
}

/** A view of log_values with each value's run and name. */
export interface LogsTable {
  run_id: number;
  seq: number;
  ctx_id: number | null;
  name: string;
  num: number | null;
  value: Json | null;
  /** True on a replayed value that no replay could verify; NULL otherwise (recorded, or verified). */
  unverified: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
}

/** The catalog: which names a run logged, at which loop dimensions, how often. */
export interface LogNamesTable {
  run_id: number;
  name: string;
  dim_keys: ColumnType<string[], string[], string[]>;
  count: ColumnType<string, number, number>;
}

export interface CheckpointsTable {
  run_id: number;
  ctx_id: number;
  objects: Json;
  bytes: ColumnType<string, number, number>;
  written_bytes: ColumnType<string, number, number>;
  seconds: number;
}

/** How far each journal file has been ingested: what makes ingestion incremental and idempotent. */
export interface JournalsTable {
  project_id: number;
  path: string;
  run_id: number | null;
  offset: ColumnType<string, number, number>;
  lines: number;
  bad_lines: number;
  complete: boolean;
  updated_at: Timestamp;
}

export interface ReplayJobsTable {
  id: Generated<number>;
  project_id: number;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  request: Json;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  error: string | null;
  fingerprint: string | null;
  plan: Json | null;
  workers: number | null;
  estimated_seconds: number | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export type ReplayTaskStatus = "queued" | "running" | "done" | "failed" | "cancelled";

/** One child process's worth of replay: a run's iteration ranges; `spec` is what the child is given. */
export interface ReplayTasksTable {
  id: Generated<number>;
  job_id: number;
  run_id: number;
  status: ReplayTaskStatus;
  spec: Json;
  estimated_seconds: number;
  iterations: number;
  attempts: Generated<number>;
  worker: string | null;
  journal: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  values_written: Generated<number>;
  divergences: Generated<number>;
  error: string | null;
  /** Whether its replay from checkpoints diverged and was redone from the run's start. */
  redone: Generated<boolean>;
  /** Values it stored marked unverified (its from-start replay diverged too). */
  unverified: Generated<number>;
  /** What its divergence looked like and its likely cause: a TaskDiagnosis as JSON text. */
  diagnosis: string | null;
}

export interface ReplayEventsTable {
  id: ColumnType<string, never, never>;
  job_id: number;
  at: DefaultTimestamp;
  kind: string;
  task_id: number | null;
  data: Json;
}

/** A part of a run replay has filled for a name: `before`/`after` the loop (iteration -1), `loop` iteration i, or `all`. */
export interface ReplayCoverageTable {
  run_id: number;
  name: string;
  part: "before" | "loop" | "after" | "all";
  iteration: number;
  task_id: number | null;
}

/** A value the replay logged differently from the original run (or a loop structure it did not reproduce). */
export interface ReplayDivergencesTable {
  id: Generated<string>;
  run_id: number;
  task_id: number | null;
  ctx_id: number | null;
  name: string;
  occurrence: number;
  recorded: Json | null;
  replayed: Json | null;
  detail: string;
  /** `checkpoints`: a replay that restored checkpoints (its values refused, the run redone from its start); `start`: a replay from the run's start (its values stored, unverified); null: before replays were checked. */
  stage: "checkpoints" | "start" | null;
}

export interface Database {
  projects: ProjectsTable;
  runs: RunsTable;
  args: ArgsTable;
  loops: LoopsTable;
  loop_ranges: LoopRangesTable;
  loop_summaries: LoopSummariesTable;
  logs: LogsTable;
  log_streams: LogStreamsTable;
  log_values: LogValuesTable;
  log_stream_stats: LogStreamStatsTable;
  log_names: LogNamesTable;
  checkpoints: CheckpointsTable;
  journals: JournalsTable;
  replay_jobs: ReplayJobsTable;
  replay_tasks: ReplayTasksTable;
  replay_events: ReplayEventsTable;
  replay_coverage: ReplayCoverageTable;
  replay_divergences: ReplayDivergencesTable;
}
