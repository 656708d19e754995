import type { ColumnType, Generated } from "kysely";
import type { JsonValue, RunStatus } from "../journal/records.js";

/** Tables live in the PostgreSQL schema `flor`, so a shared server's other tables are never in the way. */
export const STORE_SCHEMA = "flor";

type Json = ColumnType<JsonValue, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

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
}

export interface ArgsTable {
  run_id: number;
  name: string;
  value: Json;
  source: string;
}

/** One row per loop iteration (a context); `dims` holds the iteration (and item) of every enclosing loop. */
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

/** Logged values: numbers in `num` (NaN and ±Infinity included), everything else as JSON in `value`. */
export interface LogsTable {
  run_id: number;
  seq: number;
  ctx_id: number | null;
  name: string;
  num: number | null;
  value: Json | null;
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
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  error: string | null;
}

export interface Database {
  projects: ProjectsTable;
  runs: RunsTable;
  args: ArgsTable;
  loops: LoopsTable;
  loop_summaries: LoopSummariesTable;
  logs: LogsTable;
  log_names: LogNamesTable;
  checkpoints: CheckpointsTable;
  journals: JournalsTable;
  replay_jobs: ReplayJobsTable;
}
