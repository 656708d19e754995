/**
 * The journal: one JSON object per line, appended by a training run and read by ingestion.
 * Keys are short because a run may write millions of `log` lines. `format` in the `run` header
 * versions the layout.
 */
export const JOURNAL_FORMAT = 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** First line of every journal. */
export interface RunRecord {
  k: "run";
  format: number;
  projid: string;
  tstamp: string;
  filename: string;
  vid: string | null;
  pid: number;
  host: string;
  argv: string[];
  node: string;
}

/** A hyper-parameter; `src` says where its value came from. */
export interface ArgRecord {
  k: "arg";
  n: string;
  v: JsonValue;
  src: "default" | "kwargs";
}

/** Entering iteration `i` of loop `n`; `id` is unique within the run, `p` is the enclosing iteration. */
export interface ContextRecord {
  k: "ctx";
  id: number;
  p: number | null;
  n: string;
  i: number;
  /** The item, when it is a JSON scalar and the loop was not given a plain count. */
  v?: string | number | boolean;
}

/** The end of an iteration and how long it took (seconds). */
export interface IterationEndRecord {
  k: "it";
  id: number;
  s: number;
}

/** A logged value in context `c` (null: outside every loop). `x` encodes non-finite numbers. */
export interface LogRecord {
  k: "log";
  c: number | null;
  n: string;
  v?: JsonValue;
  x?: "NaN" | "Infinity" | "-Infinity";
}

/** A checkpoint of the registered objects, taken at the end of an outermost iteration. */
export interface CheckpointRecord {
  k: "ckpt";
  c: number;
  /** Object name → content hash in the object store. */
  o: Record<string, string>;
  /** Total serialised bytes. */
  b: number;
  /** Bytes newly written (the rest was already stored). */
  w: number;
  s: number;
}

/** A whole loop finished: under context `c`, loop `n` ran `count` iterations, starting `t0` s after the run began. */
export interface LoopEndRecord {
  k: "loop";
  c: number | null;
  n: string;
  count: number;
  t0: number;
  s: number;
}

export type RunStatus = "running" | "ok" | "failed" | "incomplete";

/** Last line of a run that ended while the process could still write. */
export interface EndRecord {
  k: "end";
  status: Exclude<RunStatus, "running" | "incomplete">;
  exit: number | null;
  s: number;
  error?: string;
}

export type JournalRecord =
  | RunRecord
  | ArgRecord
  | ContextRecord
  | IterationEndRecord
  | LogRecord
  | CheckpointRecord
  | LoopEndRecord
  | EndRecord;
